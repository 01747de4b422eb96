import assert from "node:assert/strict";
import type { RateLimitStore } from "./rate_limit_store.ts";

/** A store on the given clock (ms); the cases move it to make time pass without waiting. */
export type MakeRateLimitStore = (now: () => number) => Promise<RateLimitStore> | RateLimitStore;
type Case = { condition: string; fn: (store: RateLimitStore, clock: Clock) => Promise<void> };

interface Clock {
  t: number;
}

/** Registers the behaviour every RateLimitStore shares, one test per case. */
export function runRateLimitContract(name: string, make: MakeRateLimitStore): void {
  for (const { condition, fn } of cases()) {
    Deno.test(`RateLimitStore ${name} - ${condition}`, () => runCase(make, fn));
  }
}

/** The same cases as steps of one test, for a backend the test starts once. */
export async function runRateLimitContractSteps(
  t: Deno.TestContext,
  make: MakeRateLimitStore,
): Promise<void> {
  for (const { condition, fn } of cases()) await t.step(condition, () => runCase(make, fn));
}

async function runCase(make: MakeRateLimitStore, fn: Case["fn"]): Promise<void> {
  // Far from 0, as a real epoch is, so no store can treat 0 as "never".
  const clock: Clock = { t: 1_700_000_000_000 };
  const store = await make(() => clock.t);
  try {
    await fn(store, clock);
  } finally {
    await store.close();
  }
}

async function takes(store: RateLimitStore, key: string, events: number, perMs: number, n: number) {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push(await store.take(key, { events, perMs }));
  return out;
}

function cases(): Case[] {
  const list: Case[] = [];
  const test = (condition: string, fn: Case["fn"]) => list.push({ condition, fn });

  test("a full burst passes and the next take is refused", async (store) => {
    assert.deepEqual(await takes(store, "ip:a", 3, 60_000, 4), [true, true, true, false]);
    assert.deepEqual(await takes(store, "ip:a", 3, 60_000, 2), [false, false]);
  });

  // The Redis store expires a bucket's key, in real time, once the bucket would be full on
  // the injected clock: a minute per refill keeps a slow machine from expiring it mid-case.
  test("tokens come back with time, at events per perMs", async (store, clock) => {
    await takes(store, "ip:a", 3, 60_000, 3);
    clock.t += 19_999;
    assert.equal(await store.take("ip:a", { events: 3, perMs: 60_000 }), false);
    clock.t += 1; // 20 s: one token
    assert.deepEqual(await takes(store, "ip:a", 3, 60_000, 2), [true, false]);
    clock.t += 10 * 60_000; // far past full: capped at the burst
    assert.deepEqual(await takes(store, "ip:a", 3, 60_000, 4), [true, true, true, false]);
  });

  test("a refused take costs nothing", async (store, clock) => {
    await takes(store, "ip:a", 2, 60_000, 2);
    assert.deepEqual(await takes(store, "ip:a", 2, 60_000, 5), Array(5).fill(false));
    clock.t += 30_000;
    assert.deepEqual(await takes(store, "ip:a", 2, 60_000, 2), [true, false]);
  });

  test("keys and limits have their own buckets", async (store) => {
    assert.deepEqual(await takes(store, "ip:a", 1, 60_000, 2), [true, false]);
    assert.deepEqual(await takes(store, "ip:b", 1, 60_000, 2), [true, false]);
    assert.deepEqual(await takes(store, "ip:a", 2, 60_000, 3), [true, true, false]);
  });

  test("concurrent takes never pass more than the burst", async (store) => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.take("ip:a", { events: 5, perMs: 60_000 })),
    );
    assert.equal(results.filter(Boolean).length, 5);
  });

  test("a clock going back refills nothing", async (store, clock) => {
    await takes(store, "ip:a", 2, 60_000, 2);
    clock.t -= 50_000; // another node's clock, behind
    assert.equal(await store.take("ip:a", { events: 2, perMs: 60_000 }), false);
    clock.t += 50_000;
    assert.equal(await store.take("ip:a", { events: 2, perMs: 60_000 }), false);
  });

  test("a limit no bucket can have is rejected", async (store) => {
    for (const limit of [{ events: 0, perMs: 1_000 }, { events: 1, perMs: 0 }]) {
      await assert.rejects(store.take("ip:a", limit), RangeError);
    }
  });
  return list;
}
