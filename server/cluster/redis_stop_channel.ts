import type { RedisClient } from "../lock/redis_locker.ts";
import { decodeStop, deliver, encodeStop, type StopChannel } from "./stop_channel.ts";

export interface RedisStopChannelOptions {
  /** Connected; publishes. Owned by the caller. */
  client: RedisClient;
  /** Connected, for pub/sub only; may be shared with other subscribers. Caller's too. */
  subscriber: RedisClient;
  /** Prefix of the channel. Default "h5:". */
  prefix?: string;
}

/**
 * Stop requests over Redis pub/sub: one channel for every node (a request is a few dozen
 * bytes, and a node that does not run the upload ignores it in a map lookup).
 */
export class RedisStopChannel<R extends string = string> implements StopChannel<R> {
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  readonly #handlers = new Set<(uploadId: string, reason: R) => void>();
  #closed = false;

  private constructor(options: RedisStopChannelOptions) {
    this.#client = options.client;
    this.#subscriber = options.subscriber;
    this.#channel = `${options.prefix ?? "h5:"}stop`;
  }

  /** A channel already subscribed: a request published after this resolves is heard. */
  static async start<R extends string = string>(
    options: RedisStopChannelOptions,
  ): Promise<RedisStopChannel<R>> {
    const channel = new RedisStopChannel<R>(options);
    await channel.#subscriber.subscribe(channel.#channel, channel.#onMessage);
    return channel;
  }

  async request(uploadId: string, reason: R): Promise<void> {
    await this.#client.publish(this.#channel, encodeStop(uploadId, reason));
  }

  listen(handler: (uploadId: string, reason: R) => void): () => void {
    const own = (uploadId: string, reason: R) => handler(uploadId, reason);
    this.#handlers.add(own);
    return () => this.#handlers.delete(own);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    await this.#subscriber.unsubscribe(this.#channel, this.#onMessage);
  }

  readonly #onMessage = (message: string) => {
    const stop = decodeStop(message);
    // The reason is whatever a node of this cluster sent; R is the service's own union.
    if (stop) deliver(this.#handlers, stop.uploadId, stop.reason as R);
  };
}
