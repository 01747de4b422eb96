import assert from "node:assert/strict";
import { createClient } from "redis";
import { within } from "../../tests/support/deadline.ts";
import { type Scope, scoped } from "../../tests/support/scope.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { RedisRateLimitStore } from "./redis_rate_limit.ts";
import { runRateLimitContractSteps } from "./rate_limit_store_contract.ts";

/** A redis-server for this test; missing Redis fails the test with the reason (CI has it). */
async function redisFor(scope: Scope) {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  const redis = await startRedis(scope, found.redis);
  const client = createClient({ url: redis.url });
  await client.connect();
  scope.defer("close the test's redis client", () => client.close());
  return { redis, client };
}

Deno.test("RateLimitStore RedisRateLimitStore - the contract", (t) =>
  scoped(async (scope) => {
    const { client } = await redisFor(scope);
    let n = 0;
    await runRateLimitContractSteps(
      t,
      (now) => new RedisRateLimitStore(client, { prefix: `c${++n}:`, now }),
    );
  }));

Deno.test("RedisRateLimitStore - two nodes share one bucket on the server's clock", () =>
  scoped(async (scope) => {
    const { redis } = await redisFor(scope);
    const a = new RedisRateLimitStore(redis.url);
    scope.defer("close node A", () => a.close());
    const b = new RedisRateLimitStore(redis.url);
    scope.defer("close node B", () => b.close());
    // A minute per refill: no token comes back within the test.
    const limit = { events: 3, perMs: 60_000 };
    assert.equal(await a.take("session:10.0.0.1", limit), true);
    assert.equal(await b.take("session:10.0.0.1", limit), true);
    assert.equal(await a.take("session:10.0.0.1", limit), true);
    assert.equal(await b.take("session:10.0.0.1", limit), false);
    assert.equal(await a.take("session:10.0.0.1", limit), false);
    assert.equal(await b.take("session:10.0.0.2", limit), true);
  }));

Deno.test("RedisRateLimitStore - a bucket's key expires once it is full again", () =>
  scoped(async (scope) => {
    const { client } = await redisFor(scope);
    const store = new RedisRateLimitStore(client);
    const limit = { events: 2, perMs: 200 };
    const key = store.keyOf("ip:a", limit);
    assert.equal(key, "h5:rate:2/200:ip:a");
    assert.deepEqual([await store.take("ip:a", limit), await store.take("ip:a", limit)], [
      true,
      true,
    ]);
    const ttl = await client.pTTL(key);
    assert.ok(ttl > 0 && ttl <= 200, `ttl ${ttl}`);
    // Polls the outcome, bounded: Redis drops the key when the bucket would be full.
    await within(
      (async () => {
        while (await client.exists(key)) await new Promise((r) => setTimeout(r, 20));
      })(),
      "the full bucket's key to expire",
    );
    // Gone means full: the whole burst passes again.
    assert.deepEqual([await store.take("ip:a", limit), await store.take("ip:a", limit)], [
      true,
      true,
    ]);
  }));
