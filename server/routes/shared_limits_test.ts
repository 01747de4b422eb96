/**
 * The HTTP limits in a RateLimitStore shared by the nodes (issue #9: per-node buckets let N
 * nodes take N times the limit). Two apps stand for two nodes behind one balancer.
 */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { MemoryRateLimitStore, type RateLimitStore } from "../http/rate_limit_store.ts";
import { harness } from "../testing/harness.ts";

async function createSession(app: ReturnType<typeof createApp>): Promise<number> {
  const res = await app.request("/api/sessions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ category: "personal", clientType: "web" }),
  });
  await res.body?.cancel();
  return res.status;
}

function node(h: Awaited<ReturnType<typeof harness>>, rateLimits: RateLimitStore) {
  return createApp({
    service: h.service,
    allowedOrigins: h.config.allowedOrigins,
    maxFileSize: h.config.maxFileSize,
    sessionRate: 2,
    rateLimits,
  });
}

Deno.test("shared rate limits - two nodes on one store share the session-creation bucket", async () => {
  await using h = await harness();
  const shared = new MemoryRateLimitStore();
  const a = node(h, shared);
  const b = node(h, shared);
  assert.equal(await createSession(a), 201);
  assert.equal(await createSession(b), 201);
  assert.equal(await createSession(a), 429, "the bucket is the address's, on every node");
  assert.equal(await createSession(b), 429);
});

Deno.test("shared rate limits - a failing store lets requests through and logs once", async () => {
  await using h = await harness();
  const broken: RateLimitStore = {
    take: () => Promise.reject(new Error("redis is down")),
    close: () => Promise.resolve(),
  };
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const app = node(h, broken);
    for (let i = 0; i < 4; i++) assert.equal(await createSession(app), 201);
  } finally {
    console.error = original;
  }
  assert.equal(logged.length, 1, "one line per outage");
  assert.match(String(logged[0]?.[0]), /unavailable/);
});
