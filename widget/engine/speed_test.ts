import assert from "node:assert/strict";
import { eta, SpeedMeter } from "./speed.ts";

Deno.test("speed - the first window sets the rate, later ones are smoothed", () => {
  const m = new SpeedMeter();
  m.sample(0, 0);
  assert.equal(m.speed, 0);
  m.sample(1000, 1000); // 1000 B/s
  assert.equal(m.speed, 1000);
  m.sample(4000, 2000); // 3000 B/s for 1 s: weight 1 - e^-0.5 ≈ 0.39
  assert.ok(m.speed > 1700 && m.speed < 1900, `smoothed ${m.speed}`);
  for (let t = 3000, pos = 4000; t <= 20_000; t += 1000) m.sample(pos += 3000, t);
  assert.ok(Math.abs(m.speed - 3000) < 10, `converges: ${m.speed}`);
});

Deno.test("speed - samples closer than 200 ms merge into the next window", () => {
  const m = new SpeedMeter();
  m.sample(0, 0);
  m.sample(100, 50);
  m.sample(200, 100);
  assert.equal(m.speed, 0, "no rate from windows under 200 ms");
  m.sample(500, 250);
  assert.equal(m.speed, 2000, "500 B over 250 ms");
});

Deno.test("speed - going back (a retry from a lower offset) restarts the base; reset forgets", () => {
  const m = new SpeedMeter();
  m.sample(0, 0);
  m.sample(1000, 1000);
  m.sample(500, 1500);
  assert.equal(m.speed, 1000, "unchanged by the drop");
  m.sample(1500, 2500);
  assert.ok(m.speed >= 1000);
  m.reset();
  assert.equal(m.speed, 0);
  m.sample(9000, 3000);
  assert.equal(m.speed, 0, "a new base after reset");
});

Deno.test("speed - eta is remaining over speed, rounded up; null when unknown", () => {
  assert.equal(eta(1000, 300), 4);
  assert.equal(eta(0, 0), 0);
  assert.equal(eta(100, 0), null);
});
