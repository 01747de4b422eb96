import assert from "node:assert/strict";
import { KeyedRateLimiter, TokenBucket } from "./rate_limit.ts";

Deno.test("token bucket: a burst of `events`, then refills at events/perMs", () => {
  let t = 0;
  const bucket = new TokenBucket({ events: 3, perMs: 300 }, () => t);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [
    true,
    true,
    true,
    false,
  ]);
  t += 99;
  assert.equal(bucket.take(), false);
  t += 1;
  assert.equal(bucket.take(), true);
  assert.equal(bucket.take(), false);
  t += 10_000;
  assert.equal(bucket.full, true, "never above capacity");
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [
    true,
    true,
    true,
    false,
  ]);
});

Deno.test("token bucket: refuses a limit that would never refill", () => {
  assert.throws(() => new TokenBucket({ events: 0, perMs: 1000 }, () => 0), RangeError);
  assert.throws(() => new TokenBucket({ events: 1, perMs: 0 }, () => 0), RangeError);
});

Deno.test("keyed limiter: one bucket per key, refilled ones pruned", () => {
  let t = 0;
  const limiter = new KeyedRateLimiter({ events: 1, perMs: 1000 }, () => t, 2);
  assert.equal(limiter.take("a"), true);
  assert.equal(limiter.take("a"), false);
  assert.equal(limiter.take("b"), true);
  t += 1000;
  assert.equal(limiter.take("c"), true, "a and b refilled and were pruned");
  assert.equal(limiter.size, 1);
});
