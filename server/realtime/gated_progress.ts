import type { ThrottleGate, ThrottleView } from "./throttle_gate.ts";

export interface GatedProgressOptions {
  gate: ThrottleGate;
  /** The file's newest state in its room, or null once the room or the file is gone. */
  viewOf: (sessionId: string, fileId: string) => ThrottleView | null;
  /** Builds the update from the room's newest state and sends it. */
  send: (sessionId: string, fileId: string) => void;
}

/**
 * Progress sends of one node when the throttle is shared by the cluster (throttle_gate.ts).
 * Status changes and 100 % go at once (the spec lets them through; a round trip would only
 * delay them behind nothing) and are recorded. Other updates ask the gate; a node refused
 * inside the window asks again when it ends, from the newest state it knows (every node hears
 * every delta), and the gate lets it through only if that is still 1 % past what was sent.
 */
export class GatedProgress {
  readonly #options: GatedProgressOptions;
  readonly #trailing = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per file, the token of the asks still valid: a send at once or a cancel voids them. */
  readonly #asks = new Map<string, object>();

  constructor(options: GatedProgressOptions) {
    this.#options = options;
  }

  /** A file's new state, committed on this node; `before`: its state until then. */
  onFile(sessionId: string, view: ThrottleView, before: ThrottleView | undefined): void {
    const forced = before !== undefined &&
      (before.status !== view.status || (view.progress >= 100 && before.progress < 100));
    if (!forced) return this.#ask(sessionId, view.id);
    this.cancel(sessionId, view.id);
    this.#options.send(sessionId, view.id);
    this.#options.gate.record(sessionId, view);
  }

  /** Another room event about this file went out: what is held back or asked would be older. */
  cancel(sessionId: string, fileId: string): void {
    const key = `${sessionId}/${fileId}`;
    const timer = this.#trailing.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.#trailing.delete(key);
    this.#asks.delete(key);
  }

  close(): void {
    for (const timer of this.#trailing.values()) clearTimeout(timer);
    this.#trailing.clear();
    this.#asks.clear();
  }

  get trailing(): number {
    return this.#trailing.size;
  }

  #ask(sessionId: string, fileId: string): void {
    const key = `${sessionId}/${fileId}`;
    const view = this.#options.viewOf(sessionId, fileId);
    if (!view) return;
    let token = this.#asks.get(key);
    if (!token) this.#asks.set(key, token = {});
    const valid = token;
    this.#options.gate.admit(sessionId, view).then((decision) => {
      if (this.#asks.get(key) !== valid) return;
      const now = this.#options.viewOf(sessionId, fileId);
      if (!now) return;
      if (decision.send) {
        const timer = this.#trailing.get(key);
        if (timer !== undefined) clearTimeout(timer);
        this.#trailing.delete(key);
        this.#options.send(sessionId, fileId);
        // What left is newer than what was asked about: the next 1 % counts from it.
        if (now.progress !== view.progress) this.#options.gate.record(sessionId, now);
        return;
      }
      if (decision.waitMs === null || this.#trailing.has(key)) return;
      this.#trailing.set(
        key,
        setTimeout(() => {
          this.#trailing.delete(key);
          this.#ask(sessionId, fileId);
        }, decision.waitMs),
      );
    }).catch((error) => {
      console.error(`Progress of session "${sessionId}" failed:`, error);
    });
  }
}
