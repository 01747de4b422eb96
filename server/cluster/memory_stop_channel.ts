import { deliver, type StopChannel } from "./stop_channel.ts";

/** Listeners of every in-process channel on it: one per node, like one Redis. */
export class MemoryStopHub {
  readonly channels = new Set<MemoryStopChannel<string>>();
}

/** In-process stop requests: the embedded default, where the only node is this one. */
export class MemoryStopChannel<R extends string = string> implements StopChannel<R> {
  readonly #hub: MemoryStopHub;
  readonly handlers = new Set<(uploadId: string, reason: R) => void>();

  constructor(hub: MemoryStopHub = new MemoryStopHub()) {
    this.#hub = hub;
    hub.channels.add(this as unknown as MemoryStopChannel<string>);
  }

  request(uploadId: string, reason: R): Promise<void> {
    for (const channel of this.#hub.channels) {
      // Asynchronous like a real channel, so callers never rely on a synchronous delivery.
      queueMicrotask(() => deliver(channel.handlers, uploadId, reason));
    }
    return Promise.resolve();
  }

  listen(handler: (uploadId: string, reason: R) => void): () => void {
    const own = (uploadId: string, reason: R) => handler(uploadId, reason);
    this.handlers.add(own);
    return () => this.handlers.delete(own);
  }

  close(): Promise<void> {
    this.#hub.channels.delete(this as unknown as MemoryStopChannel<string>);
    this.handlers.clear();
    return Promise.resolve();
  }
}
