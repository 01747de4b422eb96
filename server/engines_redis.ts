/**
 * The Redis engines of a clustered node (H5_REDIS_URL): one command connection and one
 * pub/sub connection (a subscribed connection runs nothing else), shared by the state store,
 * the locker, the rate limits, the stop and progress channels and Socket.IO's Redis adapter.
 * Two connections per node whatever the load: every one of these is a few commands per
 * request or a message per checkpoint, far from what one connection carries.
 */
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import type { ServerOptions } from "socket.io";
import type { RedisConfig } from "./config_cluster.ts";
import { RedisStopChannel } from "./cluster/redis_stop_channel.ts";
import type { StopChannel } from "./cluster/stop_channel.ts";
import { RedisProgressChannel } from "./cluster/redis_progress_channel.ts";
import { RedisThrottleGate } from "./cluster/redis_throttle_gate.ts";
import type { ThrottleGate } from "./realtime/throttle_gate.ts";
import type { ProgressChannel } from "./cluster/progress_channel.ts";
import { RedisRateLimitStore } from "./http/redis_rate_limit.ts";
import type { RateLimitStore } from "./http/rate_limit_store.ts";
import type { RedisClient } from "./lock/redis_locker.ts";
import { RedisLocker } from "./lock/redis_locker.ts";
import { RedisStateStore } from "./state/redis_store.ts";
import type { StopReason } from "./upload/in_flight.ts";
import { EngineStartError } from "./engine_start_error.ts";

export interface RedisEngines {
  store: RedisStateStore;
  locker: RedisLocker;
  rateLimits: RateLimitStore;
  stopChannel: StopChannel<StopReason>;
  progressChannel: ProgressChannel;
  /** The progress throttle shared by every node (one send per file per window). */
  throttleGate: ThrottleGate;
  adapter: ServerOptions["adapter"];
  close(): Promise<void>;
}

/** How often a start tries a Redis that does not answer before it gives up. */
const START_ATTEMPTS = 3;

/** The URL without its password, for a log line. */
export function maskedRedisUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

/**
 * A connected client. Before its first connection it gives up after a few attempts (a node
 * that cannot reach Redis at start must say so, not hang); once up, it reconnects forever
 * with a capped backoff, and a command meanwhile rejects at once (no offline queue: a
 * request fails, logged, instead of hanging until Redis is back).
 */
async function connect(url: string, what: string, node: string): Promise<RedisClient> {
  let ready = false;
  let reported = false;
  let lastError: unknown = null;
  const client: RedisClient = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (retries: number, cause: Error) => {
        lastError = cause;
        if (!ready && retries + 1 >= START_ATTEMPTS) return cause;
        return Math.min(50 * 2 ** retries, 2000);
      },
    },
  });
  // Without a listener an error would be thrown from the emitter: one line per outage.
  client.on("error", (error: unknown) => {
    lastError = error;
    if (!ready || reported) return;
    reported = true;
    console.error(`node ${node}: redis ${what} connection lost, retrying:`, String(error));
  });
  client.on("ready", () => {
    if (reported) console.error(`node ${node}: redis ${what} connection is back`);
    reported = false;
  });
  try {
    await client.connect();
  } catch (error) {
    if (client.isOpen) client.destroy();
    const cause = lastError ?? error;
    throw new EngineStartError(
      `H5_REDIS_URL=${maskedRedisUrl(url)} cannot be reached (${describe(cause)})`,
    );
  }
  ready = true;
  return client;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export async function openRedis(
  config: RedisConfig,
  options: { node: string; leaseMs?: number },
): Promise<RedisEngines> {
  const client = await connect(config.url, "command", options.node);
  const opened: (() => Promise<unknown> | unknown)[] = [() => closeClient(client)];
  const closeAll = async () => {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (error) {
        console.error("Closing a redis engine failed:", error);
      }
    }
  };
  try {
    const subscriber = client.duplicate();
    subscriber.on("error", () => {}); // the command connection reports the outage
    await subscriber.connect();
    opened.push(() => closeClient(subscriber));
    const store = new RedisStateStore(client);
    opened.push(() => store.close());
    const locker = await RedisLocker.start({
      client,
      subscriber,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });
    opened.push(() => locker.close());
    const rateLimits = new RedisRateLimitStore(client);
    opened.push(() => rateLimits.close());
    const stopChannel = await RedisStopChannel.start<StopReason>({ client, subscriber });
    opened.push(() => stopChannel.close());
    const progressChannel = await RedisProgressChannel.start({
      client,
      subscriber,
      node: options.node,
    });
    opened.push(() => progressChannel.close());
    return {
      store,
      locker,
      rateLimits,
      stopChannel,
      progressChannel,
      throttleGate: new RedisThrottleGate({ client, node: options.node }),
      adapter: createAdapter(client, subscriber),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    if (error instanceof EngineStartError) throw error;
    throw new EngineStartError(
      `H5_REDIS_URL=${maskedRedisUrl(config.url)} refused the start (${describe(error)})`,
    );
  }
}

async function closeClient(client: RedisClient): Promise<void> {
  if (client.isReady) await client.close();
  else if (client.isOpen) client.destroy();
}
