/**
 * Two nodes that complete a final's last parts at once both call joinWhenReady: the join must
 * run once, not twice at the same time into one part file (on 43e4545 only an in-process chain
 * serialised joins, so two nodes truncated and appended into the final's part together).
 */
import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import type { Locker } from "../lock/locker.ts";
import { MemoryLockBackend, MemoryLocker } from "../lock/memory_locker.ts";
import { MemoryStore } from "../state/memory_store.ts";
import { upload } from "../state/store_contract.ts";
import type { UploadRecord } from "../state/store.ts";
import type { UploadStorage } from "../storage/storage.ts";
import { Concatenation } from "./concatenation.ts";

Deno.test("concatenation - two nodes joining one final at once: one join, never two together", async () => {
  const store = new MemoryStore();
  const parts = ["p1", "p2"].map((id) =>
    upload({ id, concat: "partial", status: "completed", size: 4, offset: 4 })
  );
  for (const part of parts) await store.putUpload(part);
  await store.putUpload(
    upload({ id: "f", concat: "final", parts: ["p1", "p2"], status: "uploading", size: 8 }),
  );

  // Node B's turn has come once it waits for the final's join, or (the bug) joins it too.
  const bTurn = Promise.withResolvers<void>();
  const aJoining = Promise.withResolvers<void>();
  let active = 0;
  let most = 0;
  let concats = 0;
  const storage = {
    truncate: () => Promise.resolve(),
    removePart: () => Promise.resolve(),
    concat: async () => {
      concats++;
      most = Math.max(most, ++active);
      if (concats === 1) {
        aJoining.resolve();
        await within(bTurn.promise, "node B to reach the join");
      } else bTurn.resolve();
      active--;
    },
  } as unknown as UploadStorage;

  const backend = new MemoryLockBackend();
  const waiting = (locker: Locker): Locker =>
    new Proxy(locker, {
      get(target, property, receiver) {
        if (property !== "acquire") return Reflect.get(target, property, receiver);
        return (key: string, options: Parameters<Locker["acquire"]>[1]) => {
          const acquired = target.acquire(key, options);
          if (key === "join:f") bTurn.resolve();
          return acquired;
        };
      },
    });
  const node = (locker: Locker) =>
    new Concatenation({
      store,
      storage,
      locker,
      lockTimeoutMs: 5000,
      steps: {
        now: () => 2_000,
        maxSize: () => 1 << 20,
        fail: () => Promise.resolve(),
        started: () => {},
        finish: async (joined: UploadRecord) => {
          const done = { ...joined, status: "completed" as const };
          assert.ok(await store.putUpload(done, { ifVersion: joined.version }));
          return done;
        },
      },
    });
  const a = node(new MemoryLocker({ backend }));
  const b = node(waiting(new MemoryLocker({ backend })));

  const first = a.joinWhenReady("f");
  // B starts once A is inside its join (its concat is waiting for B).
  await within(aJoining.promise, "node A to start its join");
  const second = b.joinWhenReady("f");
  const results = await Promise.allSettled([first, second]);
  assert.equal(most, 1, "two joins of one final ran at once");
  assert.equal(concats, 1, "the final was joined twice");
  for (const result of results) {
    assert.equal(result.status, "fulfilled", String((result as PromiseRejectedResult).reason));
    assert.equal(
      (result as PromiseFulfilledResult<UploadRecord | null>).value?.status,
      "completed",
    );
  }
});
