import type { ProgressDelta } from "../upload/progress_delta.ts";
import { deliverProgress, type ProgressChannel } from "./progress_channel.ts";

/** The in-process channels on it hear each other: one per node, like one Redis. */
export class MemoryProgressHub {
  readonly channels = new Set<MemoryProgressChannel>();
}

/**
 * In-process progress channel: the embedded default (one node, so nothing to hear; the
 * node's own deltas reach its rooms through its EventBus), or several in-process nodes on
 * one hub in tests.
 */
export class MemoryProgressChannel implements ProgressChannel {
  readonly #hub: MemoryProgressHub;
  readonly handlers = new Set<(delta: ProgressDelta) => void>();

  constructor(hub: MemoryProgressHub = new MemoryProgressHub()) {
    this.#hub = hub;
    hub.channels.add(this);
  }

  publish(delta: ProgressDelta): void {
    for (const channel of this.#hub.channels) {
      if (channel === this) continue;
      // Asynchronous like a real channel; a copy, as a node across the wire would get.
      const copy = structuredClone(delta);
      queueMicrotask(() => deliverProgress(channel.handlers, copy));
    }
  }

  listen(handler: (delta: ProgressDelta) => void): () => void {
    const own = (delta: ProgressDelta) => handler(delta);
    this.handlers.add(own);
    return () => this.handlers.delete(own);
  }

  close(): Promise<void> {
    this.#hub.channels.delete(this);
    this.handlers.clear();
    return Promise.resolve();
  }
}
