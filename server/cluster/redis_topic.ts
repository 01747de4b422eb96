import type { RedisClient } from "../lock/redis_locker.ts";

/**
 * One Redis pub/sub channel that every node subscribes to: its listeners, its subscription and
 * its end. The channels built on it (stop requests, progress deltas) differ only in what a
 * message holds and how a bad one is told apart.
 */
export class RedisTopic<M> {
  readonly name: string;
  readonly #subscriber: RedisClient;
  readonly #decode: (message: string) => M | null;
  /** Names a listener that throws in the log ("A stop request listener failed: ..."). */
  readonly #what: string;
  readonly #handlers = new Set<(message: M) => void>();
  #closed = false;

  private constructor(
    subscriber: RedisClient,
    name: string,
    decode: (message: string) => M | null,
    what: string,
  ) {
    this.#subscriber = subscriber;
    this.name = name;
    this.#decode = decode;
    this.#what = what;
  }

  /** Subscribed once this resolves: a message published afterwards is heard. */
  static async open<M>(
    subscriber: RedisClient,
    name: string,
    decode: (message: string) => M | null,
    what: string,
  ): Promise<RedisTopic<M>> {
    const topic = new RedisTopic(subscriber, name, decode, what);
    await subscriber.subscribe(name, topic.#onMessage);
    return topic;
  }

  get closed(): boolean {
    return this.#closed;
  }

  listen(handler: (message: M) => void): () => void {
    // Wrapped: the same function listening twice is two listeners, each removed on its own.
    const own = (message: M) => handler(message);
    this.#handlers.add(own);
    return () => this.#handlers.delete(own);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    await this.#subscriber.unsubscribe(this.name, this.#onMessage);
  }

  readonly #onMessage = (message: string) => {
    const decoded = this.#decode(message);
    if (decoded === null) return;
    // Each in its own try: one failing listener must not starve the rest.
    for (const handler of [...this.#handlers]) {
      try {
        handler(decoded);
      } catch (error) {
        console.error(`A ${this.#what} listener failed:`, error);
      }
    }
  };
}
