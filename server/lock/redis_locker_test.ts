import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import { scoped } from "../../tests/support/scope.ts";
import { Scope } from "../../tests/support/scope.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { type RedisClient, redisClients } from "../../tests/support/redis_clients.ts";
import { CONTRACT_LEASE_MS, runLockerContract } from "./locker_contract.ts";
import { RedisLocker } from "./redis_locker.ts";
import { type Locker, LockLostError } from "./locker.ts";

runLockerContract("RedisLocker", async () => {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  const scope = new Scope();
  const redis = await startRedis(scope, found.redis);
  const nodes = new Map<Locker, { locker: RedisLocker; clients: RedisClient[] }>();
  return {
    locker: async () => {
      const { client, subscriber } = await redisClients(scope, redis.url);
      const locker = await RedisLocker.start({
        client,
        subscriber,
        leaseMs: CONTRACT_LEASE_MS,
        pollMs: CONTRACT_LEASE_MS,
      });
      nodes.set(locker, { locker, clients: [client, subscriber] });
      return locker;
    },
    crash: (locker) => {
      // The node's connections die; its timers (and its `lost` signals) live on.
      for (const client of nodes.get(locker)?.clients ?? []) client.destroy();
      return Promise.resolve();
    },
    close: async () => {
      for (const { locker, clients } of nodes.values()) {
        if (clients.every((client) => client.isOpen)) await locker.close();
      }
      const failures = await scope.close();
      if (failures.length > 0) throw failures[0]!.error;
    },
  };
});

Deno.test("RedisLocker - a renewal that finds the key taken aborts lost with the reason", async () => {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  await scoped(async (scope) => {
    const redis = await startRedis(scope, found.redis);
    const { client, subscriber } = await redisClients(scope, redis.url);
    const locker = await RedisLocker.start({ client, subscriber, leaseMs: CONTRACT_LEASE_MS });
    scope.defer("close the locker", () => locker.close());
    const lock = await locker.acquire("k");
    // What a second holder does after this one's lease lapsed unnoticed (a paused process).
    await client.set("h5:lock:k", "another-node:1", { PX: 10_000 });
    const reason = await within(
      new Promise((resolve) =>
        lock.lost.addEventListener("abort", () => resolve(lock.lost.reason))
      ),
      "the lost signal",
    );
    assert.ok(reason instanceof LockLostError);
    assert.match(reason.message, /another holder has it/);
    await lock.release();
    assert.equal(await client.get("h5:lock:k"), "another-node:1", "release kept the other's key");
  });
});

Deno.test("RedisLocker - a waiter whose release message was lost gets the key by re-polling", async () => {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  await scoped(async (scope) => {
    const redis = await startRedis(scope, found.redis);
    const { client, subscriber } = await redisClients(scope, redis.url);
    // A long lease, so only the re-poll (not the holder's expiry) can end the wait in time.
    const locker = await RedisLocker.start({ client, subscriber, leaseMs: 60_000, pollMs: 50 });
    scope.defer("close the locker", () => locker.close());
    const held = await locker.acquire("k");
    const waiting = locker.acquire("k", { timeoutMs: 10_000 });
    // The key freed without the release script's message, as when pub/sub dropped it.
    await client.del("h5:lock:k");
    const lock = await within(waiting, "the waiter's re-poll", 5000);
    assert.ok(lock.fence > held.fence);
    await lock.release();
    await held.release();
  });
});
