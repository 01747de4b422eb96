/** The server under soak: a child process, so its RSS is its own. */
import type { SoakStats } from "./stats.ts";

const SERVE = new URL("./serve.ts", import.meta.url).pathname;

/** One `soak-stats` line of the server (see serve.ts). */
export interface ServerStats {
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  speedMeters: number;
  touchedSessions: number;
  activeWrites: number;
}

export interface SoakServer {
  port: number;
  pid: number;
  /** Current resident memory (VmRSS) in MiB; NaN once gone. */
  rssMiB(): number;
  stop(): Promise<void>;
}

export const SOAK_ENV = {
  // Abandoned sessions expire after 15 s and are deleted 30 s later, so expiry and deletion
  // run all along the soak, not only after the default 30 minutes and 24 hours.
  H5_SESSION_TIMEOUT_MS: "15000",
  H5_SESSION_RETENTION_MS: "30000",
  // Every socket and session here comes from one or two loopback addresses.
  H5_SOCKET_RATE: "5000",
  H5_MAX_SOCKETS_PER_IP: "100000",
  H5_MAX_CONNECTIONS_PER_IP: "100000",
  H5_SESSION_RATE: "100000",
};

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts the server; every stderr line counts as an error (a 5xx or a failed sweep logs one). */
export async function startSoakServer(
  dataDir: string,
  stats: SoakStats,
  options: { gcProbe: boolean; onStats: (line: ServerStats) => void },
): Promise<SoakServer> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(options.gcProbe ? ["--v8-flags=--expose-gc", SERVE, "--gc-probe"] : [SERVE]),
    ],
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
  const listening = Promise.withResolvers<void>();
  let out = "";
  child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(text) {
        const lines = (out + text).split("\n");
        out = lines.pop() ?? "";
        for (const line of lines) {
          if (line.includes("listening on")) listening.resolve();
          const json = /^soak-stats (.*)$/.exec(line)?.[1];
          if (json) options.onStats(JSON.parse(json) as ServerStats);
        }
      },
    }),
  ).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      listening.promise,
      status.then(() => {
        throw new Error("the server exited before listening");
      }),
      new Promise((_, reject) =>
        timer = setTimeout(() => reject(new Error("the server did not listen in 60 s")), 60_000)
      ),
    ]);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
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
