import type { RedisClient } from "../lock/redis_locker.ts";
import { decodeStop, encodeStop, type StopChannel } from "./stop_channel.ts";
import { RedisTopic } from "./redis_topic.ts";

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
  readonly #topic: RedisTopic<{ uploadId: string; reason: R }>;

  private constructor(client: RedisClient, topic: RedisTopic<{ uploadId: string; reason: R }>) {
    this.#client = client;
    this.#topic = topic;
  }

  /** A channel already subscribed: a request published after this resolves is heard. */
  static async start<R extends string = string>(
    options: RedisStopChannelOptions,
  ): Promise<RedisStopChannel<R>> {
    const topic = await RedisTopic.open(
      options.subscriber,
      `${options.prefix ?? "h5:"}stop`,
      // The reason is whatever a node of this cluster sent; R is the service's own union.
      (message) => decodeStop(message) as { uploadId: string; reason: R } | null,
      "stop request",
    );
    return new RedisStopChannel<R>(options.client, topic);
  }

  async request(uploadId: string, reason: R): Promise<void> {
    await this.#client.publish(this.#topic.name, encodeStop(uploadId, reason));
  }

  listen(handler: (uploadId: string, reason: R) => void): () => void {
    return this.#topic.listen((stop) => handler(stop.uploadId, stop.reason));
  }

  close(): Promise<void> {
    return this.#topic.close();
  }
}
