import { createClient } from "redis";
import type { Scope } from "./scope.ts";

export type RedisClient = ReturnType<typeof createClient>;

/**
 * A node's two connections to a test redis-server: commands, and pub/sub (a subscribed
 * connection runs nothing else). Closed by the scope (after their pending
 * commands, such as an adapter's unsubscriptions) unless the test destroyed them (a node it
 * killed); errors of a killed node's sockets are expected and swallowed, since unhandled
 * they would crash the test.
 */
export async function redisClients(
  scope: Scope,
  url: string,
): Promise<{ client: RedisClient; subscriber: RedisClient }> {
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  scope.defer("close a redis client", () => client.isOpen ? client.close() : undefined);
  const subscriber = client.duplicate();
  subscriber.on("error", () => {});
  await subscriber.connect();
  scope.defer(
    "close a redis subscriber",
    () => subscriber.isOpen ? subscriber.close() : undefined,
  );
  return { client, subscriber };
}
