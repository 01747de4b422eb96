/** The server under soak: a child process, so its RSS is its own. */
import { waitForListening } from "../lib/child.ts";
import type { SoakStats } from "./stats.ts";

const MAIN = new URL("../../server/main.ts", import.meta.url).pathname;

export interface SoakServer {
  port: number;
  pid: number;
  /** Current resident memory (VmRSS) in MiB; NaN once gone. */
  rssMiB(): number;
  stop(): Promise<void>;
}

export const SOAK_ENV = {
  // Abandoned sessions expire after 15 s and are deleted 30 s later: the soak reaches the
  // steady state (as many sessions ending as starting) within its first minute.
  H5_SESSION_TIMEOUT_MS: "15000",
  H5_SESSION_RETENTION_MS: "30000",
  // Every socket and session here comes from one or two loopback addresses.
  H5_SOCKET_RATE: "5000",
};

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts the server; every stderr line counts as an error (a 5xx or a failed sweep logs one). */
export async function startSoakServer(dataDir: string, stats: SoakStats): Promise<SoakServer> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      NO_COLOR: "1",
      PORT: String(port),
      // Dual stack: sessions also come over [::1], a second address for the per-address
      // session limit (60 a minute), as 100 sessions would come from 100 devices.
      HOST: "::",
      H5_DATA_DIR: dataDir,
      ...SOAK_ENV,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  let partial = "";
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(text) {
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) stats.error(`server: ${line}`);
      },
    }),
  ).catch(() => {});
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, 10_000));
    await Promise.race([status, late]);
    clearTimeout(timer);
    if (!exited) child.kill("SIGKILL");
    await status.catch(() => {});
    await stderrDone;
  };
  try {
    await waitForListening(child.stdout, "h5-uploader", { timeoutMs: 60_000 });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    pid: child.pid,
    rssMiB: () => {
      try {
        const text = Deno.readTextFileSync(`/proc/${child.pid}/status`);
        return Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? NaN) / 1024;
      } catch {
        return NaN;
      }
    },
    stop,
  };
}
