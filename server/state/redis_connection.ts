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
  const client = createClient({ url: clientOrUrl });
  // Without a listener a connection error would be thrown from the emitter; the client
  // reconnects by itself and the commands meanwhile reject.
  client.on("error", (error) => console.error(`${what}:`, error));
  const ready = client.connect();
  return {
    client,
    ready,
    close: async () => {
      await ready.catch(() => {});
      if (client.isOpen) await client.close();
    },
  };
}
