/** The real server as a child process (`deno run -A server/main.ts`), for crash tests. */
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

const REPO = new URL("../../", import.meta.url);
const MAIN = new URL("server/main.ts", REPO);

export interface ServerProcess {
  url: string;
  pid: number;
  child: Deno.ChildProcess;
  /** Everything the process printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Sends `signal` and waits for the exit status (and the end of its output). */
  stop(signal: Deno.Signal): Promise<Deno.CommandStatus>;
  /**
   * Resolves once what it printed after the first `from` characters (default 0; a mark is
   * `output().length`) matches `pattern`; bounded by `within`, naming `what`.
   */
  waitFor(pattern: RegExp, what: string, from?: number): Promise<RegExpExecArray>;
}

export interface SpawnOptions {
  /** The deno arguments (default `run -A server/main.ts`), run from the repository root. */
  args?: string[];
  /** How the scope ends a process still running (default SIGKILL; a launcher wants SIGTERM). */
  reapSignal?: Deno.Signal;
}

export { taskArgs } from "../../tools/services/task.ts";

/**
 * Starts the server on `port` over `dataDir` and resolves once it printed its
 * "listening on" line. The scope kills (SIGKILL) and reaps it if it is still running.
 */
export async function spawnServer(
  scope: Scope,
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: options.args ?? ["run", "-A", MAIN.pathname],
    cwd: REPO.pathname,
    env: { PORT: String(port), HOST: "127.0.0.1", H5_DATA_DIR: dataDir, NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let text = "";
  const printed = new Set<() => void>();
  const listening = Promise.withResolvers<string>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      for (const heard of [...printed]) heard();
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) listening.resolve(match[1]!);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    listening.reject(new Error(`the server exited (${s.code}) before listening:\n${text}`));
    return s;
  });
  listening.promise.catch(() => {}); // reported through `within` below or not at all

  const stop = async (signal: Deno.Signal) => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch {
        // It exited in the meantime.
      }
    }
    const result = await within(status, `the server process to exit on ${signal}`);
    await drained;
    return result;
  };
  scope.defer("reap the server process", () => stop(options.reapSignal ?? "SIGKILL"));

  const url = await within(listening.promise, `the server on port ${port} to listen`);
  const waitFor = (pattern: RegExp, what: string, from = 0) => {
    const seen = Promise.withResolvers<RegExpExecArray>();
    const heard = () => {
      const match = pattern.exec(text.slice(from));
      if (!match) return;
      printed.delete(heard);
      seen.resolve(match);
    };
    printed.add(heard);
    heard();
    return within(seen.promise, what).finally(() => printed.delete(heard));
  };
  return { url, pid: child.pid, child, output: () => text, stop, waitFor };
}
