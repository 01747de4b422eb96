import assert from "node:assert/strict";
import { flatCheck, perMinute, type RssSample, slopeMiBPerMinute } from "./stats.ts";

const samples = (f: (at: number) => number, minutes: number): RssSample[] =>
  Array.from({ length: minutes * 12 }, (_, i) => ({ at: i * 5, rssMiB: f(i * 5) }));

Deno.test("soak flatCheck - flat passes, growth of more than 10 % fails, too short fails", () => {
  assert.equal(flatCheck(samples(() => 100, 3), 3).ok, true);
  // Warm-up in the first minute does not count.
  assert.equal(flatCheck(samples((t) => (t < 60 ? 50 : 100), 3), 3).ok, true);
  const growing = flatCheck(samples((t) => 100 + t / 6, 10), 10);
  assert.equal(growing.ok, false);
  assert.ok(growing.change > 0.1);
  assert.equal(flatCheck(samples(() => 100, 2), 2).ok, false);
});

Deno.test("soak perMinute - one row per minute with mean and max", () => {
  const rows = perMinute(samples((t) => (t < 60 ? 10 : 20), 2));
  assert.deepEqual(rows.map((r) => [r.minute, r.meanMiB, r.maxMiB]), [[1, 10, 10], [2, 20, 20]]);
});

Deno.test("soak slopeMiBPerMinute - MiB per minute of the samples after a point", () => {
  const rising = samples((t) => 100 + t / 6, 4); // 10 MiB a minute
  assert.ok(Math.abs(slopeMiBPerMinute(rising, 120) - 10) < 1e-9);
  assert.equal(slopeMiBPerMinute(samples(() => 100, 4), 120), 0);
  assert.ok(Number.isNaN(slopeMiBPerMinute([], 0)));
});
