/**
 * Progress channels, in memory and on a real redis-server: a node hears the other nodes'
 * deltas in the order they were published, never its own, and ignores anything malformed on
 * the channel (it is plain pub/sub: anyone with access to Redis can publish there).
 */
import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import { scoped } from "../../tests/support/scope.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { redisClients } from "../../tests/support/redis_clients.ts";
import type { ProgressDelta } from "../upload/progress_delta.ts";
import { MemoryProgressChannel, MemoryProgressHub } from "./memory_progress_channel.ts";
import type { ProgressChannel } from "./progress_channel.ts";
import { RedisProgressChannel } from "./redis_progress_channel.ts";

function fileDelta(offset: number): ProgressDelta {
  return {
    kind: "file",
    sessionId: "s1",
    at: 1000 + offset,
    file: {
      id: "f1",
      filename: "a.jpg",
      offset,
      size: 100,
      status: "uploading",
      error: null,
      storageKey: null,
      concat: "none",
    },
  };
}

/** What `channel` hears, and a promise of the first `n` deltas. */
function hear(channel: ProgressChannel) {
  const heard: ProgressDelta[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  channel.listen((delta) => {
    heard.push(delta);
    for (const w of waiters) if (heard.length >= w.n) w.resolve();
  });
  return {
    heard,
    count: (n: number) =>
      heard.length >= n ? Promise.resolve() : new Promise<void>((resolve) => {
        waiters.push({ n, resolve });
      }),
  };
}

async function contract(a: ProgressChannel, b: ProgressChannel, c: ProgressChannel) {
  const onA = hear(a);
  const onB = hear(b);
  const onC = hear(c);
  for (let offset = 10; offset <= 50; offset += 10) a.publish(fileDelta(offset));
  b.publish({ kind: "summary", sessionId: "s1", at: 2000 });
  await within(Promise.all([onB.count(5), onC.count(6)]), "the deltas");
  // C heard all six, so A was sent them too; B's second summary comes after them on A's
  // connection: once A heard it, A's own five would have been heard before it.
  b.publish({ kind: "summary", sessionId: "s1", at: 3000 });
  await within(onA.count(2), "B's summaries on A");
  assert.deepEqual(
    onA.heard.map((d) => d.kind === "summary" && d.at),
    [2000, 3000],
    "A hears B only",
  );
  const offsets = (heard: ProgressDelta[]) =>
    heard.flatMap((d) => d.kind === "file" ? [d.file.offset] : []);
  assert.deepEqual(offsets(onB.heard), [10, 20, 30, 40, 50], "B hears A's, in order, not its own");
  assert.deepEqual(offsets(onC.heard), [10, 20, 30, 40, 50]);
  assert.equal(onB.heard.length, 5, "B does not hear its own summaries");
  assert.deepEqual(onC.heard[0], fileDelta(10), "the whole delta crosses");
}

Deno.test("progress channel (memory): other nodes hear a node's deltas in order, it does not", async () => {
  const hub = new MemoryProgressHub();
  const channels = [0, 1, 2].map(() => new MemoryProgressChannel(hub));
  try {
    await contract(channels[0]!, channels[1]!, channels[2]!);
  } finally {
    for (const channel of channels) await channel.close();
  }
});

Deno.test("progress channel (redis): other nodes hear a node's deltas in order; junk is ignored", async () => {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  await scoped(async (scope) => {
    const redis = await startRedis(scope, found.redis);
    const node = async (name: string) => {
      const clients = await redisClients(scope, redis.url);
      const channel = await RedisProgressChannel.start({ ...clients, node: name });
      scope.defer("close a progress channel", () => channel.close());
      return { channel, client: clients.client };
    };
    const [a, b, c] = [await node("a"), await node("b"), await node("c")];
    // Junk first: not JSON, no sender, a malformed delta. Pub/sub keeps one connection's
    // order, so by the time the real deltas below arrive these were heard and dropped.
    for (const junk of ["nope", "{}", '{"n":"x","d":{"kind":"file","sessionId":1}}']) {
      await a.client.publish("h5:progress", junk);
    }
    await contract(a.channel, b.channel, c.channel);
  });
});
