import type { RedisClient } from "../lock/redis_locker.ts";
import type { ProgressDelta } from "../upload/progress_delta.ts";
import { decodeProgress, encodeProgress, type ProgressChannel } from "./progress_channel.ts";
import { RedisTopic } from "./redis_topic.ts";

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
  readonly #node: string;
  readonly #topic: RedisTopic<ProgressDelta>;
  #failing = false;

  private constructor(client: RedisClient, node: string, topic: RedisTopic<ProgressDelta>) {
    this.#client = client;
    this.#node = node;
    this.#topic = topic;
  }

  /** A channel already subscribed: a delta published after this resolves is heard. */
  static async start(options: RedisProgressChannelOptions): Promise<RedisProgressChannel> {
    const topic = await RedisTopic.open(
      options.subscriber,
      `${options.prefix ?? "h5:"}progress`,
      (message) => decodeProgress(options.node, message),
      "progress channel",
    );
    return new RedisProgressChannel(options.client, options.node, topic);
  }

  publish(delta: ProgressDelta): void {
    if (this.#topic.closed) return;
    this.#client.publish(this.#topic.name, encodeProgress(this.#node, delta)).then(() => {
      this.#failing = false;
    }, (error) => {
      // One line per outage: the next delta of each file carries its whole state again.
      if (this.#failing) return;
      this.#failing = true;
      console.error("Publishing progress to the other nodes failed:", error);
    });
  }

  listen(handler: (delta: ProgressDelta) => void): () => void {
    return this.#topic.listen(handler);
  }

  close(): Promise<void> {
    return this.#topic.close();
  }
}
