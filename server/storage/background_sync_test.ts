import assert from "node:assert/strict";
import { BackgroundSync, type SyncHandle } from "./background_sync.ts";

/** A handle whose fdatasync ends when the test says so; counts calls and overlaps. */
function controlledHandle() {
  const calls: PromiseWithResolvers<void>[] = [];
  let running = 0;
  let overlapped = false;
  const started: (() => void)[] = [];
  const handle: SyncHandle = {
    syncData() {
      running++;
      if (running > 1) overlapped = true;
      const call = Promise.withResolvers<void>();
      calls.push(call);
      started.shift()?.();
      return call.promise.finally(() => running--);
    },
  };
  return {
    handle,
    calls,
    get overlapped() {
      return overlapped;
    },
    /** Resolves once the next syncData call starts (or at once if one is pending unseen). */
    nextCall(seen: number) {
      if (calls.length > seen) return Promise.resolve();
      return new Promise<void>((resolve) => started.push(resolve));
    },
  };
}

const MiB = 2 ** 20;

Deno.test("BackgroundSync - syncs by itself once eagerBytes are unsynced, not before", async () => {
  const h = controlledHandle();
  const sync = new BackgroundSync(h.handle, 100, { eagerBytes: MiB });
  sync.written(100 + MiB - 1);
  assert.equal(h.calls.length, 0, "less than eagerBytes: no sync yet");
  sync.written(100 + MiB);
  assert.equal(h.calls.length, 1, "eagerBytes reached: a sync runs while writing goes on");
  assert.equal(sync.durable, 100, "nothing is durable before the sync ends");
  h.calls[0]!.resolve();
  await sync.flush();
  assert.equal(sync.durable, 100 + MiB);
  assert.equal(h.calls.length, 1, "flush after a covering background sync needs no other");
});

Deno.test("BackgroundSync - flush covers every byte written before it, one sync at a time", async () => {
  const h = controlledHandle();
  const sync = new BackgroundSync(h.handle, 0, { eagerBytes: MiB });
  sync.written(MiB); // starts sync 1, covering [0, 1 MiB)
  sync.written(MiB + 10); // written while sync 1 runs: sync 1 may miss these bytes
  let flushed: number | null = null;
  const flushing = sync.flush().then((offset) => flushed = offset);
  assert.equal(h.calls.length, 1, "no second sync while the first runs");
  h.calls[0]!.resolve();
  await h.nextCall(1);
  assert.equal(flushed, null, "sync 1 did not cover the last 10 bytes: flush waits");
  assert.equal(sync.durable, MiB);
  h.calls[1]!.resolve();
  await flushing;
  assert.equal(flushed, MiB + 10);
  assert.equal(h.overlapped, false, "two fdatasyncs never overlap");
});

Deno.test("BackgroundSync - keeps syncing back to back while a fast body outruns it", async () => {
  const h = controlledHandle();
  const sync = new BackgroundSync(h.handle, 0, { eagerBytes: MiB });
  sync.written(MiB);
  sync.written(5 * MiB); // 4 MiB more arrive during sync 1
  h.calls[0]!.resolve();
  await h.nextCall(1);
  assert.equal(sync.durable, MiB);
  h.calls[1]!.resolve();
  assert.equal(await sync.flush(), 5 * MiB);
  assert.equal(h.calls.length, 2);
});

Deno.test("BackgroundSync - a failed sync is reported once and rethrown by flush", async () => {
  const h = controlledHandle();
  const errors: unknown[] = [];
  const sync = new BackgroundSync(h.handle, 0, { eagerBytes: 1, onError: (e) => errors.push(e) });
  sync.written(10);
  const failure = new Error("EIO");
  h.calls[0]!.reject(failure);
  await assert.rejects(sync.flush(), (error) => error === failure);
  assert.deepEqual(errors, [failure]);
  assert.equal(sync.durable, 0, "a failed sync makes nothing durable");
  sync.written(20);
  assert.equal(h.calls.length, 1, "no sync after a failure");
});

Deno.test("BackgroundSync - with nothing written, flush does not sync", async () => {
  const h = controlledHandle();
  const sync = new BackgroundSync(h.handle, 42);
  assert.equal(await sync.flush(), 42);
  assert.equal(h.calls.length, 0);
});
