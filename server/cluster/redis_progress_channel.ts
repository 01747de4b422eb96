import type { RedisClient } from "../lock/redis_locker.ts";
import type { ProgressDelta } from "../upload/progress_delta.ts";
import {
  decodeProgress,
  deliverProgress,
  encodeProgress,
  type ProgressChannel,
} from "./progress_channel.ts";

export interface RedisProgressChannelOptions {
  /** Connected; publishes. Owned by the caller. */
  client: RedisClient;
  /** Connected, for pub/sub only; may be shared with other subscribers. Caller's too. */
  subscriber: RedisClient;
  /** This node's id: its own messages come back on the channel and are skipped. */
  node: string;
  /** Prefix of the channel. Default "h5:". */
  prefix?: string;
}

/**
 * Progress deltas over Redis pub/sub, one channel for every node. A delta is a few hundred
 * bytes per durable checkpoint of a file (not per chunk), and pub/sub keeps one publisher's
 * order, so a node hears each file's states in the order they were committed.
 */
export class RedisProgressChannel implements ProgressChannel {
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  readonly #node: string;
  readonly #handlers = new Set<(delta: ProgressDelta) => void>();
  #closed = false;
  #failing = false;

  private constructor(options: RedisProgressChannelOptions) {
    this.#client = options.client;
    this.#subscriber = options.subscriber;
    this.#node = options.node;
    this.#channel = `${options.prefix ?? "h5:"}progress`;
  }

  /** A channel already subscribed: a delta published after this resolves is heard. */
  static async start(options: RedisProgressChannelOptions): Promise<RedisProgressChannel> {
    const channel = new RedisProgressChannel(options);
    await channel.#subscriber.subscribe(channel.#channel, channel.#onMessage);
    return channel;
  }

  publish(delta: ProgressDelta): void {
    if (this.#closed) return;
    this.#client.publish(this.#channel, encodeProgress(this.#node, delta)).then(() => {
      this.#failing = false;
    }, (error) => {
      // One line per outage: the next delta of each file carries its whole state again.
      if (this.#failing) return;
      this.#failing = true;
      console.error("Publishing progress to the other nodes failed:", error);
    });
  }

  listen(handler: (delta: ProgressDelta) => void): () => void {
    const own = (delta: ProgressDelta) => handler(delta);
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
    const delta = decodeProgress(this.#node, message);
    if (delta) deliverProgress(this.#handlers, delta);
  };
}
