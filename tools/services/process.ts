/**
 * A child process owned by a scope: its output kept (bounded) for error messages and
 * optionally appended to a log file, a wait for a line it prints when ready, and a stop at
 * the end of the scope (SIGTERM, then SIGKILL if it does not go). Shared by the tests'
 * services and `deno task cluster`.
 */
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

/** Output kept in memory per process: enough for a failure message, bounded whatever it prints. */
const KEEP_CHARS = 64 * 1024;

export interface Managed {
  pid: number;
  /** Resolves when the process has exited (and its output has ended). */
  status: Promise<Deno.CommandStatus>;
  /** The exit status once exited, else null. */
  exited(): Deno.CommandStatus | null;
  /** The last 64 KiB of what it printed (stdout and stderr). */
  output(): string;
  /** Resolves once its output matches `pattern`; rejects if it exits first or after `ms`. */
  waitFor(pattern: RegExp, what: string, ms?: number): Promise<RegExpExecArray>;
  /** Sends `signal` (default SIGKILL: the `kill -9` a test may need); no-op once exited. */
  kill(signal?: Deno.Signal): void;
}

export interface ManagedOptions {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Appends everything it prints to this file. */
  log?: string;
  /** How long the scope's stop waits after SIGTERM before SIGKILL. */
  stopMs?: number;
}

export async function startManaged(
  scope: Scope,
  what: string,
  command: string,
  options: ManagedOptions,
): Promise<Managed> {
  const log = options.log
    ? await Deno.open(options.log, { create: true, append: true, write: true })
    : null;
  const child = new Deno.Command(command, {
    args: options.args,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let writing = Promise.resolve();
  const watchers = new Set<() => void>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      if (log) {
        writing = writing.then(async () => void (await log.write(chunk))).catch(() => {});
      }
      text = (text + decoder.decode(chunk, { stream: true })).slice(-KEEP_CHARS);
      for (const watcher of watchers) watcher();
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exit: Deno.CommandStatus | null = null;
  const status = (async () => {
    const s = await child.status;
    await drained.catch(() => {});
    await writing;
    log?.close();
    exit = s;
    for (const watcher of watchers) watcher();
    return s;
  })();

  const kill = (signal: Deno.Signal = "SIGKILL") => {
    if (exit) return;
    try {
      child.kill(signal);
    } catch { /* it exited in the meantime */ }
  };
  const waitFor = (pattern: RegExp, about: string, ms?: number) => {
    const found = Promise.withResolvers<RegExpExecArray>();
    const check = () => {
      const match = pattern.exec(text);
      if (match) found.resolve(match);
      else if (exit) {
        found.reject(new Error(`${what} exited (${exit.code}) before ${about}:\n${text}`));
      }
    };
    watchers.add(check);
    check();
    return within(found.promise, `${what}: ${about}`, ms).finally(() => watchers.delete(check));
  };
  scope.defer(`stop ${what}`, async () => {
    kill("SIGTERM");
    try {
      await within(status, `${what} to stop on SIGTERM`, options.stopMs ?? 10_000);
    } catch (error) {
      kill("SIGKILL");
      await status;
      throw error;
    }
  });
  return { pid: child.pid, status, exited: () => exit, output: () => text, waitFor, kill };
}
