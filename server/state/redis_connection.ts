import { createClient } from "redis";
import type { RedisCommander } from "./redis_script.ts";

/** A client a Redis-backed store uses: the caller's (left open) or its own from a URL. */
export interface RedisConnection {
  client: RedisCommander;
  /** Settles once the client can take commands; await it before each. */
  ready: Promise<unknown>;
  /** Closes the client only when the connection opened it. */
  close(): Promise<void>;
}

export function redisConnection(
  clientOrUrl: RedisCommander | string,
  what: string,
): RedisConnection {
  if (typeof clientOrUrl !== "string") {
    return { client: clientOrUrl, ready: Promise.resolve(), close: () => Promise.resolve() };
  }
  // No offline queue: while the connection is down after it was up, a command rejects at
  // once (the request fails, logged) instead of hanging until Redis is back.
  const client = createClient({ url: clientOrUrl, disableOfflineQueue: true });
  // Without a listener a connection error would be thrown from the emitter. The client
  // retries by itself (every retry fails alike): one line per outage, none once closed (an
  // attempt under way when the client is destroyed still reports its failure).
  let connected = false;
  let closed = false;
  let reported = false;
  client.on("error", (error) => {
    if (closed || reported) return;
    reported = true;
    console.error(`${what}: connection lost, retrying:`, error);
  });
  client.on("ready", () => reported = false);
  const ready = client.connect().then(() => {
    connected = true;
  });
  ready.catch(() => {}); // awaited by every command; a failure is theirs to report
  return {
    client,
    ready,
    close: async () => {
      closed = true;
      // Still trying to (re)connect: drop the attempt, as closing would wait for it.
      if (connected && client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
  };
}
