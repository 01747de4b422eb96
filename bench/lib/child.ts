/** What every bench part does with a server it runs as a child process. */

/**
 * Reads `stdout` until the server prints `listening on <url>` and returns the url; the rest
 * of the output is drained in the background so the child never blocks on a full pipe.
 * Rejects when the child exits first or `timeoutMs` passes (`detail` adds, e.g., stderr).
 */
export async function waitForListening(
  stdout: ReadableStream<Uint8Array<ArrayBuffer>>,
  what: string,
  options: { timeoutMs?: number; detail?: () => string } = {},
): Promise<string> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  const pattern = /listening on (\S+)/;
  let seen = "";
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, options.timeoutMs ?? 60_000);
  try {
    let match: RegExpExecArray | null;
    while (!(match = pattern.exec(seen))) {
      const { value, done } = await reader.read();
      if (done) {
        const why = timedOut ? "did not listen in time" : "exited before listening";
        throw new Error(`${what} ${why}: ${seen}${options.detail?.() ?? ""}`.trim());
      }
      seen += value;
    }
    void (async () => {
      try {
        while (!(await reader.read()).done) { /* drain */ }
      } catch { /* stopped */ }
    })();
    return match[1]!;
  } finally {
    clearTimeout(timer);
  }
}

/** Peak resident memory (VmHWM) of a live process, in MiB; NaN once it is gone. */
export function peakRssMiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024);
  } catch {
    return NaN;
  }
}

/** Current resident memory (VmRSS) of a live process, in MiB; NaN once it is gone. */
export function rssMiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024);
  } catch {
    return NaN;
  }
}
