import assert from "node:assert/strict";
import { createClient } from "redis";
import { within } from "../../tests/support/deadline.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { type Scope, scoped } from "../../tests/support/scope.ts";
import { RedisStateStore } from "./redis_store.ts";
import { runStateStoreContractSteps, session, stored, upload } from "./store_contract.ts";

/** A redis-server for this test; missing Redis fails the test with the reason (CI has it). */
async function redisFor(scope: Scope) {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  const redis = await startRedis(scope, found.redis);
  const client = createClient({ url: redis.url });
  // A test that kills Redis makes this client report it: not an uncaught error.
  client.on("error", () => {});
  await client.connect();
  scope.defer("close the test's redis client", () => client.close());
  return { redis, client };
}

Deno.test("StateStore RedisStateStore - the contract", (t) =>
  scoped(async (scope) => {
    const { client } = await redisFor(scope);
    // A fresh prefix per case keeps the cases independent on one server.
    let n = 0;
    await runStateStoreContractSteps(t, () => new RedisStateStore(client, { prefix: `c${++n}:` }));
    // The store was handed the client: closing the store left it open.
    assert.equal(client.isOpen, true);
  }));

Deno.test("RedisStateStore - two nodes on one redis see each other's writes and race fairly", () =>
  scoped(async (scope) => {
    const { redis, client } = await redisFor(scope);
    const a = new RedisStateStore(redis.url, { prefix: "two:" });
    scope.defer("close node A's store", () => a.close());
    const b = new RedisStateStore(redis.url, { prefix: "two:" });
    scope.defer("close node B's store", () => b.close());

    await a.putSession(session({ id: "s1", expiresAt: 10 }));
    await a.putUpload(upload({ id: "u1", expiresAt: 10 }));
    assert.deepEqual(await b.getSession("s1"), stored(session({ id: "s1", expiresAt: 10 })));
    assert.deepEqual((await b.listUploads("s1")).map((u) => u.id), ["u1"]);
    assert.deepEqual((await b.listExpiredSessions(10)).map((s) => s.id), ["s1"]);

    // Node B pauses; node A's checkpoint, read before the pause, must not overwrite it.
    const readByA = (await a.getUpload("u1"))!;
    const readByB = (await b.getUpload("u1"))!;
    const paused = { ...readByB, status: "paused" as const };
    assert.equal(await b.putUpload(paused, { ifVersion: readByB.version }), true);
    const checkpoint = { ...readByA, status: "uploading" as const, offset: 4_096 };
    assert.equal(await a.putUpload(checkpoint, { ifVersion: readByA.version }), false);
    assert.equal((await a.getUpload("u1"))?.status, "paused");

    // Many writers on both nodes, all conditional on one version: exactly one wins.
    const base = (await a.getUpload("u1"))!;
    const writes = Array.from(
      { length: 20 },
      (_, i) => (i % 2 ? a : b).putUpload({ ...base, offset: i + 1 }, { ifVersion: base.version }),
    );
    const results = await Promise.all(writes);
    assert.equal(results.filter(Boolean).length, 1, `results ${results}`);
    const winner = results.indexOf(true) + 1;
    assert.deepEqual(await b.getUpload("u1"), { ...base, offset: winner, version: 3 });

    // A delete on one node is gone from the other's listings too.
    assert.equal(await a.deleteUpload("u1", { ifVersion: 3 }), true);
    assert.deepEqual(await b.listUploads("s1"), []);
    assert.deepEqual(await b.listExpiredUploads(10), []);

    // Closing a store made from a URL closes only its own client.
    await a.close();
    assert.equal(await b.putSession(session({ id: "s2" }), { ifVersion: 0 }), true);
    assert.equal(client.isOpen, true);
  }));

Deno.test("RedisStateStore - scripts are sent again after the server forgot them", () =>
  scoped(async (scope) => {
    const { client } = await redisFor(scope);
    const store = new RedisStateStore(client, { prefix: "flush:" });
    await store.putUpload(upload({ id: "u1" }));
    await client.sendCommand(["SCRIPT", "FLUSH"]);
    assert.equal(await store.putUpload(upload({ id: "u1" }), { ifVersion: 1 }), true);
    assert.deepEqual(await store.listUploads("s1"), [stored(upload({ id: "u1" }), 2)]);
  }));

Deno.test("RedisStateStore - keys live under the prefix, indexes follow the writes", () =>
  scoped(async (scope) => {
    const { client } = await redisFor(scope);
    const store = new RedisStateStore(client);
    await store.putSession(session({ id: "s1" }));
    await store.putUpload(upload({ id: "u1", sessionId: "s1" }));
    await store.putUpload(upload({ id: "u1", sessionId: "s2", status: "completed" }));
    const keys = (await client.keys("*")).sort();
    assert.deepEqual(keys, [
      "h5:session-uploads:s2",
      "h5:session:s1",
      "h5:sessions:active",
      "h5:upload:u1",
    ]);
    await store.deleteUpload("u1");
    await store.deleteSession("s1");
    // Redis drops an emptied sorted set: nothing is left behind.
    assert.deepEqual(await client.keys("*"), []);
  }));

Deno.test("RedisStateStore - with Redis gone, commands reject at once and close still ends", () =>
  scoped(async (scope) => {
    const { redis } = await redisFor(scope);
    const errors: unknown[] = [];
    const logged = new Promise<void>((resolve) => {
      const original = console.error;
      scope.defer("restore console.error", () => console.error = original);
      console.error = (...args: unknown[]) => {
        errors.push(args);
        resolve();
      };
    });
    const store = new RedisStateStore(redis.url);
    scope.defer("close the store", () => within(store.close(), "the store to close"));
    await store.putUpload(upload({ id: "u1" }));
    redis.kill();
    await within(logged, "the lost connection to be logged");
    // The request that needed the state fails (a logged 500) rather than hanging.
    await within(assert.rejects(store.getUpload("u1")), "getUpload to reject");
    await within(
      assert.rejects(store.putUpload(upload({ id: "u1" }), { ifVersion: 1 })),
      "putUpload to reject",
    );
    assert.ok(errors.length > 0);
  }));
