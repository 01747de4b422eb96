/**
 * The cases of issue #9's "make the service safe to share", over any shared engines (memory
 * in cluster_safety_test.ts, a real Redis in cluster_safety_redis_test.ts).
 */
import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import { AppError } from "../errors.ts";
import { fileBytes } from "../testing/harness.ts";
import { feeder, type Nodes } from "../testing/nodes.ts";
import type { Principal } from "./principal.ts";

/** Short leases so a lapsed one is seen in a test's time. */
export const NODE_ENV = { H5_LOCK_LEASE_MS: "300", H5_LOCK_TIMEOUT_MS: "3000" };

export const SIZE = 1 << 20;

export async function sessionUpload(n: Nodes, fileId: string) {
  const a = n.nodes[0]!.service;
  const s = await a.createSession("personal", "web");
  const principal: Principal = { kind: "session", sessionId: s.sessionId };
  const record = await a.createUpload(principal, {
    length: SIZE,
    metadata: { filename: "p.jpg", filetype: "image/jpeg", fileId },
    rawMetadata: "",
    concat: { kind: "none" },
  });
  return { sessionId: s.sessionId, principal, id: record.id };
}

/** A PATCH on node `i` with a body the test feeds; resolves once `bytes` are committed. */
export async function writing(
  n: Nodes,
  i: number,
  principal: Principal,
  id: string,
  bytes = 65536,
) {
  const body = feeder();
  const committed = n.until((u) => u.id === id && u.offset >= bytes);
  const answer = n.nodes[i]!.service.patch(principal, id, body.body, {
    offset: 0,
    contentLength: SIZE,
    uploadLength: null,
    checksum: null,
  }).then(
    (record) => ({ record, error: null }),
    (error: unknown) => ({ record: null, error }),
  );
  const data = fileBytes(SIZE);
  body.push(data.subarray(0, bytes));
  await within(committed, `node ${i} to commit ${bytes} bytes`);
  return { body, answer, data };
}

export function codeOf(error: unknown): string {
  return error instanceof AppError ? error.code : String(error);
}

/** (i) a pause on node B ends node A's PATCH with 423 UPLOAD_PAUSED; the record stays paused. */
export async function pauseOnOtherNode(n: Nodes): Promise<void> {
  const { sessionId, principal, id } = await sessionUpload(n, "pause-b");
  const w = await writing(n, 0, principal, id);
  await n.nodes[1]!.service.pause({ sessionId, fileId: id });
  const { error } = await within(w.answer, "node A's PATCH to end after the pause on B", 3000);
  assert.equal(codeOf(error), "UPLOAD_PAUSED");
  assert.equal((error as AppError).status, 423);
  const stored = await n.store.getUpload(id);
  assert.equal(stored?.status, "paused");
  assert.ok(stored!.offset >= 65536, `offset ${stored!.offset}`);
  assert.equal(await n.storage.partSize(id), stored!.offset, "the offset is durable");
  w.body.end();
}

/**
 * (i) A pause written by another node while A still writes (A's lease lapsed unnoticed, or
 * the stop request was lost): A's next checkpoint must not overwrite it.
 */
export async function checkpointKeepsPause(n: Nodes): Promise<void> {
  const { principal, id } = await sessionUpload(n, "pause-kept");
  const w = await writing(n, 0, principal, id);
  const read = (await n.store.getUpload(id))!;
  assert.ok(await n.store.putUpload({ ...read, status: "paused" }, { ifVersion: read.version }));
  w.body.push(w.data.subarray(65536, 2 * 65536));
  const { error } = await within(w.answer, "node A's PATCH to stop at the pause it finds", 10_000);
  assert.equal(codeOf(error), "UPLOAD_PAUSED");
  const stored = await n.store.getUpload(id);
  assert.equal(stored?.status, "paused", "the checkpoint kept the other node's pause");
  assert.equal(stored?.offset, read.offset);
  w.body.end();
}

/** (ii) A writer whose lease lapsed stops and writes no state after it. */
export async function lapsedLeaseStops(n: Nodes, crash: () => void): Promise<void> {
  const { principal, id } = await sessionUpload(n, "lapsed");
  const w = await writing(n, 0, principal, id);
  const writes: number[] = [];
  n.until((u) => {
    if (u.id === id) writes.push(u.offset);
    return false;
  });
  crash();
  w.body.push(w.data.subarray(65536, 3 * 65536));
  const { error } = await within(w.answer, "the PATCH to stop when its lease lapsed", 10_000);
  assert.equal(codeOf(error), "UPLOAD_LOCKED");
  assert.deepEqual(writes, [], "no state write after the lease lapsed");
  const stored = await n.store.getUpload(id);
  assert.equal(stored?.status, "uploading", "not failed by the writer that lost its lock");
  w.body.end();
}

/** (iii) Three nodes sweep one expired session: one `session-error` across the three buses. */
export async function oneSweeper(n: Nodes): Promise<void> {
  const { sessionId } = await sessionUpload(n, "swept");
  n.clock.now += n.config.sessionTimeoutMs + 1000;
  await Promise.all(n.nodes.map((node) => node.service.sweep()));
  await Promise.all(n.nodes.map((node) => node.service.sweep()));
  const errors = n.nodes.flatMap((node) =>
    node.events.filter((e) => e.name === "session-error" && e.payload.sessionId === sessionId)
  );
  assert.equal(errors.length, 1, `session-error events: ${errors.length}`);
  assert.equal((await n.store.getSession(sessionId))?.status, "expired");
}

/** (iv) recover() on B leaves A's upload alone, and recovers one whose holder died. */
export async function recoverSkipsLiveWriter(
  n: Nodes,
  dead: { locker: import("../lock/locker.ts").Locker; crash(): void },
): Promise<void> {
  const live = await sessionUpload(n, "live");
  const w = await writing(n, 0, live.principal, live.id);
  // An upload whose writer died mid-PATCH: its bytes past the committed offset, its lock held.
  const gone = await sessionUpload(n, "gone");
  const torn = fileBytes(4096);
  await n.storage.write(gone.id, new Blob([torn]).stream(), { offset: 0, maxBytes: 4096 });
  const goneRecord = (await n.store.getUpload(gone.id))!;
  await n.store.putUpload({ ...goneRecord, status: "uploading", writing: true });
  await dead.locker.acquire(`upload:${gone.id}`);
  dead.crash();

  await n.nodes[1]!.service.recover();
  let stored = await n.store.getUpload(live.id);
  assert.equal(stored?.status, "uploading", "A's upload is left to A");
  assert.equal(
    (await n.store.getUpload(gone.id))?.status,
    "uploading",
    "held until the lease ends",
  );

  // The dead holder's lease runs out: then its upload is recovery's.
  const freed = await within(
    n.nodes[1]!.locker.acquire(`upload:${gone.id}`, { timeoutMs: 5000 }),
    "the dead holder's lease to run out",
  );
  await freed.release();
  await n.nodes[1]!.service.recover();
  const recovered = await n.store.getUpload(gone.id);
  assert.equal(recovered?.status, "failed");
  assert.equal(recovered?.error?.code, "UPLOAD_INTERRUPTED");
  assert.equal(await n.storage.partSize(gone.id), 0, "the torn tail is cut");

  w.body.push(w.data.subarray(65536));
  w.body.end();
  const { record, error } = await within(w.answer, "A's PATCH to finish");
  assert.equal(error, null, `A's PATCH failed: ${error}`);
  assert.equal(record?.status, "completed");
  stored = await n.store.getUpload(live.id);
  assert.equal(stored?.status, "completed");
}

/**
 * Between two PATCHes (the first served by node A) the lock is free and the upload is
 * `uploading`: a node that starts then (recover()) leaves it so, and no watcher hears a
 * failure; the next chunk goes through that node.
 */
export async function recoverLeavesUploadBetweenPatches(n: Nodes): Promise<void> {
  const { principal, id } = await sessionUpload(n, "between");
  const data = fileBytes(SIZE);
  const half = SIZE / 2;
  const chunk = (from: number, to: number) => ({
    body: new Blob([data.subarray(from, to)]).stream(),
    input: { offset: from, contentLength: to - from, uploadLength: null, checksum: null },
  });
  const first = chunk(0, half);
  const after = await n.nodes[0]!.service.patch(principal, id, first.body, first.input);
  assert.equal(after.status, "uploading");
  assert.equal(after.offset, half);

  await n.nodes[1]!.service.recover();
  const stored = await n.store.getUpload(id);
  assert.equal(
    stored?.status,
    "uploading",
    `recover() on B wrote ${JSON.stringify(stored?.error)}`,
  );
  assert.equal(stored?.offset, half);
  const failures = n.nodes.flatMap((node) => node.events.filter((e) => e.name === "upload-failed"));
  assert.deepEqual(failures, [], "no watcher hears a failure");

  const second = chunk(half, SIZE);
  const done = await n.nodes[1]!.service.patch(principal, id, second.body, second.input);
  assert.equal(done.status, "completed");
}

/**
 * A PATCH on node A paused by node B, then resumed by a socket command: `uploading` with no
 * PATCH at all, and a node that starts leaves it so (the paused PATCH's mark is gone).
 */
export async function recoverLeavesResumedUpload(n: Nodes): Promise<void> {
  const { sessionId, principal, id } = await sessionUpload(n, "resumed");
  const w = await writing(n, 0, principal, id);
  await n.nodes[1]!.service.pause({ sessionId, fileId: id });
  const { error } = await within(w.answer, "node A's PATCH to end after the pause");
  assert.equal(codeOf(error), "UPLOAD_PAUSED");
  w.body.end();
  await n.nodes[1]!.service.resume({ sessionId, fileId: id });
  assert.equal((await n.store.getUpload(id))?.status, "uploading");
  await n.nodes[1]!.service.recover();
  const stored = await n.store.getUpload(id);
  assert.equal(stored?.status, "uploading", `recover() wrote ${JSON.stringify(stored?.error)}`);
}

/**
 * The speed of a file node A writes, in a snapshot read on node B (GET /api/sessions/:id or
 * join-session there): B has no meter of A's PATCH, so it reads the speed A stored with its
 * checkpoint.
 */
export async function speedOnOtherNode(n: Nodes): Promise<void> {
  const { sessionId, principal, id } = await sessionUpload(n, "speed");
  const w = await writing(n, 0, principal, id);
  n.clock.now += 1000;
  const second = n.until((u) => u.id === id && u.offset >= 2 * 65536);
  w.body.push(w.data.subarray(65536, 2 * 65536));
  await within(second, "node A to commit a second checkpoint");
  const onA = (await n.nodes[0]!.service.snapshot(sessionId)).files[0]!;
  const onB = (await n.nodes[1]!.service.snapshot(sessionId)).files[0]!;
  assert.ok(onA.uploadSpeed! > 0, `speed on A: ${onA.uploadSpeed}`);
  assert.equal(onB.uploadSpeed, onA.uploadSpeed, "node B shows the speed node A measured");
  w.body.end();
  await within(w.answer, "node A's PATCH to end");
}

/** A cancel on node B ends node A's PATCH with UPLOAD_CANCELLED; the record stays cancelled. */
export async function cancelOnOtherNode(n: Nodes): Promise<void> {
  const { sessionId, principal, id } = await sessionUpload(n, "cancel-b");
  const w = await writing(n, 0, principal, id);
  await n.nodes[1]!.service.cancel({ sessionId, fileId: id });
  const { error } = await within(w.answer, "node A's PATCH to end after the cancel on B", 3000);
  assert.equal(codeOf(error), "UPLOAD_CANCELLED");
  assert.equal((await n.store.getUpload(id))?.status, "cancelled");
  w.body.end();
}

/** A sweep on node B that expires the session ends node A's PATCH with 410 UPLOAD_EXPIRED. */
export async function expiryOnOtherNode(n: Nodes): Promise<void> {
  const { sessionId, principal, id } = await sessionUpload(n, "expire-b");
  const w = await writing(n, 0, principal, id);
  n.clock.now += n.config.sessionTimeoutMs + 1000;
  await n.nodes[1]!.service.sweep();
  const { error } = await within(w.answer, "node A's PATCH to end after the sweep on B", 3000);
  assert.equal(codeOf(error), "UPLOAD_EXPIRED");
  assert.equal((error as AppError).status, 410);
  const stored = await n.store.getUpload(id);
  assert.equal(stored?.status, "failed");
  assert.equal(stored?.error?.code, "SESSION_TIMEOUT");
  assert.equal((await n.store.getSession(sessionId))?.status, "expired");
  w.body.end();
}
