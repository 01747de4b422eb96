/**
 * A watchdog for one request: aborts it when no acknowledged progress came for `ms`.
 *
 * "Acknowledged progress" here is what the page can honestly observe: the request body's
 * upload progress events (XHR `upload.onprogress`: bytes the browser handed to the socket,
 * which stop once TCP flow control fills the kernel buffers of a connection that no longer
 * moves) and the server's own progress reports (socket `upload-progress`, a poll), which count
 * bytes the server stored. A half-dead connection keeps its socket open and answers nothing,
 * so neither moves and the request is abandoned for a HEAD and a resume from the server's
 * offset. A request without progress events (HEAD, POST, fetch) gets `ms` in all.
 */
export interface Stall {
  /** The request's signal: aborted by the caller's, or by the watchdog (the caller's is not). */
  signal: AbortSignal;
  /** Progress: the deadline starts again. */
  beat(): void;
  dispose(): void;
}

export function stall(
  parent: AbortSignal,
  ms: number,
  set: (fn: () => void, ms: number) => unknown,
  clear: (handle: unknown) => void,
): Stall {
  const ctl = new AbortController();
  let timer: unknown;
  // A closure, not a class: fewer bytes once minified (the bundle is at its budget).
  const abort = () => {
    clear(timer);
    ctl.abort();
  };
  const beat = () => {
    clear(timer);
    if (ms > 0 && !ctl.signal.aborted) {
      timer = set(abort, ms);
    }
  };
  parent.addEventListener("abort", abort);
  if (parent.aborted) abort();
  beat();
  return {
    signal: ctl.signal,
    beat,
    dispose() {
      clear(timer);
      parent.removeEventListener("abort", abort);
    },
  };
}
