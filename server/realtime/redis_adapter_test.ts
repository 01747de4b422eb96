/**
 * Rooms across nodes: two realtime servers on one redis-server through
 * `@socket.io/redis-adapter`; a domain event bridged on one node reaches the room's sockets
 * on the other. Also prints (not asserted) the extra latency of an emit through the adapter.
 */
import assert from "node:assert/strict";
import { createAdapter } from "@socket.io/redis-adapter";
import { within } from "../../tests/support/deadline.ts";
import { type Scope, scoped } from "../../tests/support/scope.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { redisClients } from "../../tests/support/redis_clients.ts";
import {
  type Client,
  Harness,
  type HarnessOptions,
  nextEvents,
  record,
  sentinel,
  SESSION_A,
  SESSION_B,
} from "./test_support.ts";

async function redisUrl(scope: Scope): Promise<string> {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  return (await startRedis(scope, found.redis)).url;
}

/** A realtime node; with `url`, its rooms go through the Redis adapter. */
async function node(scope: Scope, url?: string, options: HarnessOptions = {}): Promise<Harness> {
  let adapter: HarnessOptions["adapter"];
  if (url) {
    const { client, subscriber } = await redisClients(scope, url);
    adapter = createAdapter(client, subscriber);
  }
  const harness = await Harness.start({ ...options, adapter });
  // Registered after the clients, so it runs before they are destroyed.
  scope.defer("close the realtime node", () => harness[Symbol.asyncDispose]());
  return harness;
}

Deno.test("redis adapter: a room event bridged on node A reaches the room's watcher on node B", async () => {
  await scoped(async (scope) => {
    const url = await redisUrl(scope);
    const a = await node(scope, url);
    const b = await node(scope, url);
    const onB = await b.watcher(SESSION_A, { transports: ["websocket"] });
    const onA = await a.watcher(SESSION_A, { transports: ["polling"] });
    const otherOnB = await b.watcher(SESSION_B, { transports: ["websocket"] });
    const seenB = record(onB);
    const seenA = record(onA);
    const seenOther = record(otherOnB);

    // The room spans the nodes: node A counts node B's socket in it.
    const members = await within(
      a.realtime.io.in(`session:${SESSION_A}`).fetchSockets(),
      "the room's sockets of both nodes",
    );
    assert.equal(members.length, 2);

    const arrivedB = nextEvents(onB, "upload-started", 2);
    const arrivedA = nextEvents(onA, "upload-started", 2);
    a.bus.publish(sentinel(SESSION_A, "from-a"));
    b.bus.publish(sentinel(SESSION_A, "from-b"));
    const otherArrived = nextEvents(otherOnB, "upload-started", 1);
    a.bus.publish(sentinel(SESSION_B, "other"));
    await within(Promise.all([arrivedA, arrivedB, otherArrived]), "the events on both nodes");

    const ids = (seen: { payload: unknown }[]) =>
      seen.map((e) => (e.payload as { fileId: string }).fileId).sort();
    // Each watcher exactly once per event, whichever node bridged it; other rooms apart.
    assert.deepEqual(ids(seenB), ["from-a", "from-b"]);
    assert.deepEqual(ids(seenA), ["from-a", "from-b"]);
    assert.deepEqual(ids(seenOther), ["other"]);
  });
});

const SAMPLES = 200;

/** Publish-to-receive times of `SAMPLES` events, one at a time (latency, not queueing). */
async function latencies(publisher: Harness, watcher: Client): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES + 20; i++) {
    const arrived = nextEvents(watcher, "upload-started", 1);
    const sentAt = performance.now();
    publisher.bus.publish(sentinel(SESSION_A, `f${i}`));
    await arrived;
    if (i >= 20) samples.push(performance.now() - sentAt); // the first 20 warm up
  }
  return samples.sort((x, y) => x - y);
}

Deno.test("redis adapter: extra latency of a room emit through Redis (printed, not asserted)", async () => {
  await scoped(async (scope) => {
    const url = await redisUrl(scope);
    const plain = await node(scope);
    const a = await node(scope, url);
    const b = await node(scope, url);
    const rows = [
      ["in-process adapter", plain, await plain.watcher(SESSION_A, { transports: ["websocket"] })],
      ["redis adapter, same node", a, await a.watcher(SESSION_A, { transports: ["websocket"] })],
      ["redis adapter, A -> B", a, await b.watcher(SESSION_A, { transports: ["websocket"] })],
    ] as const;
    const table = [];
    for (const [via, publisher, watcher] of rows) {
      const sorted = await within(latencies(publisher, watcher), `${via} samples`);
      const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
      table.push({
        via,
        samples: sorted.length,
        p50_ms: at(0.5).toFixed(3),
        p99_ms: at(0.99).toFixed(3),
        max_ms: sorted.at(-1)!.toFixed(3),
      });
    }
    console.table(table);
  });
});
