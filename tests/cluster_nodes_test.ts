/**
 * Three real nodes on one redis-server and one s3rver (no balancer: each request names its
 * node): a watcher on node B hears every spec event of an upload that goes through node A;
 * a node's progress totals count the files other nodes run; a token made on A works on B
 * and C; a pause sent to B ends A's in-flight PATCH with 423. On the base (c0e8c30) every
 * node ran embedded whatever H5_REDIS_URL said, so none of this held.
 */
import assert from "node:assert/strict";
import type { ProgressUpdateEvent } from "../protocol/events.ts";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";
import { type ClusterNode, startCluster, type TestCluster } from "./support/cluster.ts";
import { within } from "./support/deadline.ts";
import {
  bearer,
  createSession,
  createUpload,
  getSnapshot,
  offsetOf,
  patch,
  streamPatch,
  TUS,
} from "./support/http.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { command, connectWatcher, okData, type Watcher } from "./support/socket.ts";

const MiB = 2 ** 20;
/** S3 multipart's part size, the storage's durable step (server/storage/s3/manifest.ts). */
const PART = 5 * MiB;

function nodesOf(cluster: TestCluster): [ClusterNode, ClusterNode, ClusterNode] {
  const [a, b, c] = cluster.nodes;
  assert.ok(a && b && c, "three nodes");
  return [a, b, c];
}

function watch(scope: Scope, node: ClusterNode, s: { sessionId: string; token: string }) {
  return connectWatcher(node.url, { sessionId: s.sessionId, token: s.token, scope });
}

/**
 * S3 storage commits (and so reports progress) at its 5 MiB parts: pushes `bytes` more of
 * `source` into the PATCH, then waits until the watcher heard `fileId` pass `past` bytes.
 */
async function pushUntilHeard(
  request: ReturnType<typeof streamPatch>,
  watcher: Watcher,
  fileId: string,
  source: Uint8Array,
  bytes: number,
  past: number,
): Promise<ProgressUpdateEvent> {
  const at = request.body.pushed;
  request.body.push(source.subarray(at, at + bytes));
  return await watcher.events.waitFor(
    "upload-progress",
    (e) => e.currentFile?.id === fileId && e.currentFile.uploadedBytes > past,
    { what: `progress of ${fileId} past ${past} bytes` },
  );
}

Deno.test("cluster nodes: three nodes share state, rooms, tokens and stops", async (t) => {
  await scoped(async (scope) => {
    const cluster = await startCluster(scope, { nodes: 3 });
    const [a, b, c] = nodesOf(cluster);

    await t.step("(a) a watcher on B hears every spec event of an upload through A", async () => {
      const session = await createSession(a.url);
      const onB = await watch(scope, b, session);
      const source = fileBytes(3 * MiB);
      const up = await createUpload(a.url, session, { size: source.length });
      assert.equal(new URL(up.location).origin, a.url, "the upload goes through A");
      const done = await patch(up.location, session.token, 0, source);
      assert.equal(done.status, 204, JSON.stringify(done.error));

      const completed = await onB.events.waitFor("session-completed");
      assert.equal(completed.sessionId, session.sessionId);
      const names = onB.events.roomEventNames();
      assert.match(
        names.join(","),
        /^upload-progress,upload-started,(upload-progress,)*upload-completed,(upload-progress,)?session-completed/,
        cluster.output(),
      );
      const started = onB.events.named("upload-started")[0]!;
      assert.equal(started.fileId, up.id);
      assert.equal(started.fileSize, source.length);
      const finished = onB.events.named("upload-completed")[0]!;
      assert.equal(finished.fileId, up.id);
      const full = onB.events.named("upload-progress").find((e) =>
        e.currentFile?.id === up.id && e.currentFile.progress === 100
      );
      assert.ok(full, "B heard the file's progress reach 100");
      assert.equal(full.currentFile!.uploadedBytes, source.length);
      // The finished object is in the bucket at its uploadPath, byte for byte.
      assert.equal(await cluster.objectSha256(finished.uploadPath), await sha256Hex(source));
    });

    await t.step("(a) progress sent by B counts a file that A finished meanwhile", async () => {
      const session = await createSession(a.url);
      const onC = await watch(scope, c, session);
      const x = fileBytes(1 * MiB);
      const y = fileBytes(12 * MiB);
      const upX = await createUpload(a.url, session, { size: x.length, filename: "x.jpg" });
      const upY = await createUpload(b.url, session, { size: y.length, filename: "y.jpg" });

      // Y streams through B first: B's progress room for the session exists, X at 0 in it.
      const onY = streamPatch(scope, upY.location, session.token, 0);
      const before = await pushUntilHeard(onY, onC, upY.id, y, PART + MiB / 2, 0);
      assert.equal(before.completedFiles, 0);

      // X goes through A, whole; only A's deltas know it.
      const done = await patch(upX.location, session.token, 0, x);
      assert.equal(done.status, 204, JSON.stringify(done.error));
      await onC.events.waitFor("upload-completed", (e) => e.fileId === upX.id);

      // B's next progress of Y counts X as done: B learned A's deltas.
      const seen = before.currentFile!.uploadedBytes;
      const after = await pushUntilHeard(onY, onC, upY.id, y, PART, seen);
      assert.equal(after.completedFiles, 1, `B's totals miss A's file: ${JSON.stringify(after)}`);
      const total = x.length + after.currentFile!.uploadedBytes;
      const expected = (total / (x.length + y.length)) * 100;
      assert.ok(Math.abs(after.totalProgress - expected) < 0.01, `${after.totalProgress}%`);

      onY.body.push(y.subarray(onY.body.pushed));
      onY.body.close();
      const answer = await within(onY.answer, "Y's PATCH through B");
      assert.equal(answer.status, 204, JSON.stringify(answer.error));
      await onC.events.waitFor("session-completed");
    });

    await t.step("(e) a token made on A works on B and C", async () => {
      const session = await createSession(a.url);
      for (const node of [b, c]) {
        const snapshot = await getSnapshot(node.url, session);
        assert.equal(snapshot.sessionId, session.sessionId, node.name);
        const watcher = await watch(scope, node, session);
        await watcher.close();
      }
      // A tus upload made on B with A's token, written through C, read through A.
      const source = fileBytes(MiB);
      const up = await createUpload(b.url, session, { size: source.length });
      const onC = new URL(new URL(up.location).pathname, c.url).href;
      const done = await patch(onC, session.token, 0, source);
      assert.equal(done.status, 204, JSON.stringify(done.error));
      const viaA = new URL(new URL(up.location).pathname, a.url).href;
      assert.equal(await offsetOf(viaA, session.token), source.length);
      const got = await fetch(viaA, { headers: { ...TUS, ...bearer(session.token) } });
      assert.equal(got.status, 200);
      assert.equal(await sha256Hex(await got.arrayBuffer()), await sha256Hex(source));
      // A forged token is refused everywhere: the nodes check signatures, not just accept.
      const forged = { ...session, token: session.token.slice(0, -4) + "AAAA" };
      for (const node of [a, b, c]) {
        const res = await fetch(`${node.url}/api/sessions/${session.sessionId}`, {
          headers: bearer(forged.token),
        });
        await res.body?.cancel();
        assert.equal(res.status, 403, node.name);
      }
    });

    await t.step({
      name: "(c) a pause sent to B ends A's in-flight PATCH with 423 within 3 s",
      fn: async () => {
        const session = await createSession(a.url);
        const onB = await watch(scope, b, session);
        const source = fileBytes(8 * MiB);
        const up = await createUpload(a.url, session, { size: source.length });
        const request = streamPatch(scope, up.location, session.token, 0);
        await pushUntilHeard(request, onB, up.id, source, PART + MiB / 2, 0);

        const sentAt = performance.now();
        const ack = await command(onB.socket, "upload-pause", {
          sessionId: session.sessionId,
          fileId: up.id,
          reason: "paused on another node",
        });
        assert.equal(okData(ack).currentFile?.status, "paused");
        const ended = await within(request.answer, "A's PATCH to end after B's pause", 3000);
        const tookMs = performance.now() - sentAt;
        request.body.close();
        assert.equal(ended.status, 423, JSON.stringify(ended.error));
        assert.equal(ended.error?.code, "UPLOAD_PAUSED");
        assert.ok(tookMs < 3000, `ended after ${Math.round(tookMs)} ms`);
        const offset = await offsetOf(
          new URL(new URL(up.location).pathname, b.url).href,
          session.token,
        );
        assert.equal(ended.offset, offset, "the 423 carries the committed offset");
      },
    });
  });
});
