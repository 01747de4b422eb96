/**
 * Several UploadService nodes sharing one store, lock backend, stop hub and storage (issue
 * #9, "make the service safe to share"); the same cases against a real Redis are in
 * cluster_safety_redis_test.ts.
 */
import { MemoryStopChannel, MemoryStopHub } from "../cluster/memory_stop_channel.ts";
import { MemoryLockBackend, MemoryLocker } from "../lock/memory_locker.ts";
import { MemoryStore } from "../state/memory_store.ts";
import { startNodes } from "../testing/nodes.ts";
import type { StopReason } from "./in_flight.ts";
import {
  cancelOnOtherNode,
  checkpointKeepsPause,
  expiryOnOtherNode,
  lapsedLeaseStops,
  NODE_ENV,
  oneSweeper,
  pauseOnOtherNode,
  recoverLeavesResumedUpload,
  recoverLeavesUploadBetweenPatches,
  recoverSkipsLiveWriter,
  speedOnOtherNode,
} from "./cluster_safety_cases.ts";

Deno.test("two nodes - a pause on node B ends node A's PATCH with 423 UPLOAD_PAUSED", async () => {
  await using n = await startNodes(2, { env: NODE_ENV });
  await pauseOnOtherNode(n);
});

Deno.test("two nodes - A's checkpoint does not overwrite a pause another node wrote", async () => {
  await using n = await startNodes(2, { env: NODE_ENV });
  await checkpointKeepsPause(n);
});

Deno.test("two nodes - a writer whose lease lapsed stops and writes nothing more", async () => {
  const lockers: MemoryLocker[] = [];
  const backend = new MemoryLockBackend();
  const hub = new MemoryStopHub();
  const store = new MemoryStore();
  await using n = await startNodes(2, {
    env: NODE_ENV,
    engines: () => {
      const locker = new MemoryLocker({ backend, leaseMs: 300 });
      lockers.push(locker);
      return Promise.resolve({
        store,
        locker,
        stopChannel: new MemoryStopChannel<StopReason>(hub),
      });
    },
  });
  await lapsedLeaseStops(n, () => lockers[0]!.crash());
});

Deno.test("three nodes sweeping one expired session publish one session-error", async () => {
  await using n = await startNodes(3, { env: NODE_ENV });
  await oneSweeper(n);
});

Deno.test("recover() on node B leaves node A's upload alone and recovers a dead holder's", async () => {
  const backend = new MemoryLockBackend();
  await using n = await startNodes(2, {
    env: NODE_ENV,
    engines: (() => {
      const hub = new MemoryStopHub();
      const store = new MemoryStore();
      return () =>
        Promise.resolve({
          store,
          locker: new MemoryLocker({ backend, leaseMs: 300 }),
          stopChannel: new MemoryStopChannel<StopReason>(hub),
        });
    })(),
  });
  const dead = new MemoryLocker({ backend, leaseMs: 300 });
  await recoverSkipsLiveWriter(n, { locker: dead, crash: () => dead.crash() });
});

Deno.test("two nodes - a cancel on node B ends node A's PATCH with UPLOAD_CANCELLED", async () => {
  await using n = await startNodes(2, { env: NODE_ENV });
  await cancelOnOtherNode(n);
});

Deno.test("two nodes - a sweep on node B that expires the session ends A's PATCH with 410", async () => {
  await using n = await startNodes(2, { env: NODE_ENV });
  await expiryOnOtherNode(n);
});

Deno.test("two nodes - recover() on node B leaves an upload between two PATCHes uploading", async () => {
  await using n = await startNodes(2, { env: NODE_ENV });
  await recoverLeavesUploadBetweenPatches(n);
});

Deno.test("two nodes - a snapshot on node B shows the speed of node A's PATCH", async () => {
  await using n = await startNodes(2, { env: NODE_ENV });
  await speedOnOtherNode(n);
});

Deno.test("two nodes - recover() leaves an upload resumed by a socket command uploading", async () => {
  await using n = await startNodes(2, { env: NODE_ENV });
  await recoverLeavesResumedUpload(n);
});
