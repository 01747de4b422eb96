/**
 * The throttle gate's contract, in memory and on a real redis-server: the spec's rule (per
 * file, 500 ms AND 1 % since the last update sent; status changes and 100 % pass), what a
 * refusal says (when to ask again, or that nothing is worth sending), `record`, and for Redis
 * that two nodes share one decision: of many concurrent asks exactly one sends.
 */
import assert from "node:assert/strict";
import type { FileStatus } from "../../protocol/events.ts";
import { scoped } from "../../tests/support/scope.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { redisClients } from "../../tests/support/redis_clients.ts";
import { RedisThrottleGate } from "../cluster/redis_throttle_gate.ts";
import { type GateDecision, MemoryThrottleGate, type ThrottleGate } from "./throttle_gate.ts";

/** Short, so a test waits out a window as a node's trailing attempt does. */
const INTERVAL = 120;

type Open = () => Promise<{ a: ThrottleGate; b: ThrottleGate }>;

const view = (progress: number, status: FileStatus = "uploading", id = "f1") => ({
  id,
  progress,
  status,
});

function refusedFor(decision: GateDecision): number | null {
  assert.equal(decision.send, false, "refused");
  return decision.send ? null : decision.waitMs;
}

async function contract(t: Deno.TestContext, open: Open, shared: boolean) {
  await t.step("first update sends; within the window refused with the time left", async () => {
    const { a, b } = await open();
    const s = crypto.randomUUID();
    assert.deepEqual(await a.admit(s, view(10)), { send: true });
    const wait = refusedFor(await b.admit(s, view(20)));
    assert.ok(wait !== null && wait > 0 && wait <= INTERVAL, `wait ${wait}`);
    assert.equal(refusedFor(await b.admit(s, view(10.5))), null, "under 1 %: nothing to send");
    assert.deepEqual(await a.admit(s, view(10, "uploading", "f2")), { send: true }, "per file");
  });

  await t.step("after the window: 1 % more sends once, less never", async () => {
    const { a, b } = await open();
    const s = crypto.randomUUID();
    assert.deepEqual(await a.admit(s, view(10)), { send: true });
    const wait = refusedFor(await b.admit(s, view(11)));
    assert.ok(wait !== null);
    // The window is the rule itself: wait it out as a refused node's trailing attempt does.
    await new Promise((resolve) => setTimeout(resolve, wait + 5));
    assert.equal(refusedFor(await b.admit(s, view(10.9))), null);
    assert.deepEqual(await b.admit(s, view(11)), { send: true });
    assert.ok(refusedFor(await a.admit(s, view(12))) !== null, "a new window began");
  });

  await t.step("status changes and 100 % pass at once; a settled status forgets", async () => {
    const { a, b } = await open();
    const s = crypto.randomUUID();
    assert.deepEqual(await a.admit(s, view(10)), { send: true });
    assert.deepEqual(await b.admit(s, view(10, "paused")), { send: true });
    assert.deepEqual(await a.admit(s, view(10.2, "uploading")), { send: true });
    assert.deepEqual(await b.admit(s, view(100)), { send: true });
    assert.equal(refusedFor(await a.admit(s, view(100))), null, "100 % once");
    assert.deepEqual(await a.admit(s, view(100, "completed")), { send: true });
    assert.deepEqual(await b.admit(s, view(100, "completed")), { send: true }, "forgotten");
  });

  await t.step("record: what was sent without asking is the new reference", async () => {
    const { a } = await open();
    const s = crypto.randomUUID();
    a.record(s, view(50));
    // record is fire-and-forget; an admit on the same connection comes after it.
    const decision = await a.admit(s, view(60));
    assert.ok(refusedFor(decision) !== null, "inside the recorded window");
    a.record(s, view(60, "failed"));
    assert.deepEqual(await a.admit(s, view(60)), { send: true }, "a settled record forgets");
  });

  await t.step("an ask older than what was sent is refused: its asker missed news", async () => {
    const { a, b } = await open();
    const s = crypto.randomUUID();
    assert.deepEqual(await a.admit(s, { ...view(40, "paused"), at: 2000 }), { send: true });
    // B has not heard the pause: its "uploading" would pass as a status change.
    assert.equal(refusedFor(await b.admit(s, { ...view(40), at: 1000 })), null);
    assert.deepEqual(await b.admit(s, { ...view(40), at: 3000 }), { send: true }, "a resume");
  });

  if (shared) {
    await t.step("two nodes, many concurrent asks: exactly one sends", async () => {
      const { a, b } = await open();
      const s = crypto.randomUUID();
      const asks = Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).admit(s, view(30)));
      const sent = (await Promise.all(asks)).filter((d) => d.send).length;
      assert.equal(sent, 1);
    });
  }
}

Deno.test("throttle gate contract: memory", async (t) => {
  const gate = new MemoryThrottleGate({ now: () => Date.now(), intervalMs: INTERVAL });
  await contract(t, () => Promise.resolve({ a: gate, b: gate }), false);
});

Deno.test("throttle gate contract: redis, two nodes", async (t) => {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  await scoped(async (scope) => {
    const redis = await startRedis(scope, found.redis);
    const open: Open = async () => {
      const [one, two] = await Promise.all([
        redisClients(scope, redis.url),
        redisClients(scope, redis.url),
      ]);
      return {
        a: new RedisThrottleGate({ client: one.client, node: "a", intervalMs: INTERVAL }),
        b: new RedisThrottleGate({ client: two.client, node: "b", intervalMs: INTERVAL }),
      };
    };
    await contract(t, open, true);
  });
});
