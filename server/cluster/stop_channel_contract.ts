import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import type { StopChannel } from "./stop_channel.ts";

/** The bound for a pause on node B to end node A's PATCH; delivery is a part of it. */
const DELIVERY_MS = 3000;

/** One backend (a MemoryStopHub, a redis-server) and the channels on it, one per node. */
export interface StopChannelBackend {
  channel(): Promise<StopChannel>;
  close(): Promise<void>;
}

type Heard = { uploadId: string; reason: string };

/** Resolves with the first `count` requests `channel` hears from now on. */
function hear(channel: StopChannel, count = 1): { heard: Heard[]; all: Promise<Heard[]> } {
  const heard: Heard[] = [];
  const { promise, resolve } = Promise.withResolvers<Heard[]>();
  const stop = channel.listen((uploadId, reason) => {
    heard.push({ uploadId, reason });
    if (heard.length === count) {
      stop();
      resolve(heard);
    }
  });
  return { heard, all: promise };
}

export function runStopChannelContract(
  name: string,
  make: () => Promise<StopChannelBackend>,
): void {
  const test = (condition: string, fn: (backend: StopChannelBackend) => Promise<void>) =>
    Deno.test(`StopChannel ${name} - ${condition}`, async () => {
      const backend = await make();
      try {
        await fn(backend);
      } finally {
        await backend.close();
      }
    });

  test("a node hears its own request", async (backend) => {
    const node = await backend.channel();
    const { all } = hear(node);
    await node.request("u1", "pause");
    assert.deepEqual(await within(all, "the request", DELIVERY_MS), [
      { uploadId: "u1", reason: "pause" },
    ]);
  });

  test("node B requests, node A hears it, in order", async (backend) => {
    const a = await backend.channel();
    const b = await backend.channel();
    const { all } = hear(a, 3);
    const started = performance.now();
    await b.request("u1", "pause");
    await b.request("u2", "cancel");
    await b.request("u1", "expired");
    const heard = await within(all, "node A to hear node B's requests", DELIVERY_MS);
    console.log(`stop requests B -> A: 3 heard in ${(performance.now() - started).toFixed(1)} ms`);
    assert.deepEqual(heard, [
      { uploadId: "u1", reason: "pause" },
      { uploadId: "u2", reason: "cancel" },
      { uploadId: "u1", reason: "expired" },
    ]);
  });

  test("every listener of every node hears a request", async (backend) => {
    const nodes = [await backend.channel(), await backend.channel(), await backend.channel()];
    const hearing = nodes.flatMap((node) => [hear(node).all, hear(node).all]);
    await nodes[1]!.request("u9", "cancel");
    for (const heard of await within(Promise.all(hearing), "every listener", DELIVERY_MS)) {
      assert.deepEqual(heard, [{ uploadId: "u9", reason: "cancel" }]);
    }
  });

  test("an unsubscribed listener hears nothing more", async (backend) => {
    const a = await backend.channel();
    const b = await backend.channel();
    const gone: Heard[] = [];
    const unsubscribe = a.listen((uploadId, reason) => gone.push({ uploadId, reason }));
    unsubscribe();
    // Heard by a listener of the same node, so the removed one had its chance too.
    const { all } = hear(a);
    await b.request("u1", "pause");
    await within(all, "the remaining listener", DELIVERY_MS);
    assert.deepEqual(gone, []);
  });

  test("a failing listener does not keep the request from the others", async (backend) => {
    const a = await backend.channel();
    const logged: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const failing = a.listen(() => {
        throw new Error("listener bug");
      });
      const { all } = hear(a);
      await a.request("u1", "pause");
      await within(all, "the second listener", DELIVERY_MS);
      failing();
    } finally {
      console.error = original;
    }
    assert.equal(logged.length, 1, "the failure was logged");
  });
}
