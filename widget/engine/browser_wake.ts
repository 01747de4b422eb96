/**
 * The browser's "the network may be back" signals for the engine's `wake` option: the window's
 * `online` event, and the page becoming visible again (a phone unlocked, the tab shown: timers
 * of a hidden page are throttled, so a backoff may have slept far longer than asked).
 */
export function browserWake(listener: () => void): () => void {
  const visible = () => document.visibilityState === "visible" && listener();
  const on = (m: "addEventListener" | "removeEventListener") => {
    globalThis[m]("online", listener);
    document[m]("visibilitychange", visible);
  };
  on("addEventListener");
  return () => on("removeEventListener");
}
