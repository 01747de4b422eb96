/**
 * How a session ends (issue #7, item 15), through a real server and a real socket.io-client
 * watcher: only a session whose files were uploaded ends with `session-completed` and
 * `overallStatus: "completed"`; refused or cancelled files end it with `session-error`
 * (action "stop", with the summary) and the spec's `failed` (or the documented `cancelled`),
 * and `totalProgress` is the bytes really stored over the bytes expected.
 */
import assert from "node:assert/strict";
import type { ProgressUpdateEvent } from "../protocol/events.ts";
import { fileBytes } from "../server/testing/harness.ts";
import { createSession, createUpload, getSnapshot, patch } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";
import { command, connectWatcher, okData, type Watcher } from "./support/socket.ts";

/** Declared JPEG, but the first bytes are text: refused for good once sniffed (415). */
const TEXT = new TextEncoder().encode("plain words, no picture here\n".repeat(200));

/** The progress event that follows the session's end event (settled, no current file). */
const final = (e: ProgressUpdateEvent) =>
  !e.currentFile && ["completed", "failed", "cancelled"].includes(e.overallStatus);

/** The watcher's end event, heard before the final progress event (same order as published). */
function endOf(w: Watcher) {
  const end = w.events.named("session-error")[0];
  assert.ok(end, `session-error ends the session (heard: ${w.events.roomEventNames()})`);
  return end;
}

Deno.test("session end: every file refused ends with session-error and failed, not success", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_PERSONAL_ALLOWED_TYPES: "image/*" } });
    const session = await createSession(server.url);
    const w = await connectWatcher(server.url, { ...session, scope });
    const ups = [
      await createUpload(server.url, session, { size: TEXT.length }),
      await createUpload(server.url, session, { size: TEXT.length }),
    ];
    for (const up of ups) {
      const answer = await patch(up.location, session.token, 0, TEXT.slice());
      assert.equal(answer.status, 415);
      assert.equal(answer.error?.code, "FILE_TYPE_NOT_ALLOWED");
    }

    const last = await w.events.waitFor("upload-progress", final);
    assert.equal(last.overallStatus, "failed");
    assert.equal(last.totalProgress, 0);
    assert.equal(last.completedFiles, 0);
    assert.equal(last.failedFiles, 2);
    const end = endOf(w);
    assert.equal(end.action, "stop");
    assert.equal(end.error.code, "FILE_TYPE_NOT_ALLOWED");
    assert.deepEqual([...end.affectedFiles].sort(), ups.map((u) => u.id).sort());
    assert.ok(end.summary, "the summary comes with the end");
    assert.equal(end.summary.totalFiles, 2);
    assert.equal(end.summary.completedFiles, 0);
    assert.equal(end.summary.failedFiles, 2);
    assert.equal(end.summary.cancelledFiles, 0);
    assert.equal(end.summary.uploadedSize, 0);
    const snapshot = await getSnapshot(server.url, session);
    assert.equal(snapshot.overallStatus, "failed");
    assert.notEqual(snapshot.totalProgress, 100);
    assert.equal(w.events.named("session-completed").length, 0, "no success is announced");
  }));

Deno.test("session end: one file uploaded and one refused is failed at the true progress", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_PERSONAL_ALLOWED_TYPES: "image/*" } });
    const session = await createSession(server.url);
    const w = await connectWatcher(server.url, { ...session, scope });
    const good = await createUpload(server.url, session, { size: TEXT.length });
    const bad = await createUpload(server.url, session, { size: TEXT.length });
    assert.equal(
      (await patch(good.location, session.token, 0, fileBytes(TEXT.length))).status,
      204,
    );
    assert.equal((await patch(bad.location, session.token, 0, TEXT.slice())).status, 415);

    const last = await w.events.waitFor("upload-progress", final);
    // Spec: overallStatus is "completed" only when all files were uploaded (部分文件上传失败).
    assert.equal(last.overallStatus, "failed");
    assert.equal(last.totalProgress, 50, "the refused file is expected and not stored");
    assert.equal(last.completedFiles, 1);
    assert.equal(last.failedFiles, 1);
    const end = endOf(w);
    assert.deepEqual(end.affectedFiles, [bad.id]);
    assert.equal(end.summary?.completedFiles, 1);
    assert.equal(end.summary?.failedFiles, 1);
    assert.equal(end.summary?.uploadedSize, TEXT.length);
    assert.equal(w.events.named("session-completed").length, 0);
  }));

Deno.test("session end: every file cancelled ends cancelled, not completed", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const session = await createSession(server.url);
    const w = await connectWatcher(server.url, { ...session, scope });
    const a = await createUpload(server.url, session, { size: 4000 });
    const b = await createUpload(server.url, session, { size: 4000 });
    // Half of one file is stored before it is cancelled: cancelled bytes are not progress.
    assert.equal((await patch(a.location, session.token, 0, fileBytes(2000))).status, 204);
    const { sessionId } = session;
    okData(await command(w.socket, "upload-cancel", { sessionId, fileId: a.id }));
    okData(await command(w.socket, "upload-cancel", { sessionId, fileId: b.id }));

    const last = await w.events.waitFor("upload-progress", final);
    assert.equal(last.overallStatus, "cancelled");
    assert.equal(last.totalProgress, 0);
    const end = endOf(w);
    assert.equal(end.error.code, "UPLOAD_CANCELLED");
    assert.equal(end.action, "stop");
    assert.equal(end.summary?.cancelledFiles, 2);
    assert.equal(end.summary?.completedFiles, 0);
    const snapshot = await getSnapshot(server.url, session);
    assert.equal(snapshot.overallStatus, "cancelled");
    assert.equal(snapshot.totalProgress, 0);
    assert.equal(w.events.named("session-completed").length, 0, "no success is announced");
  }));

Deno.test("session end: uploaded files beside a cancelled one still complete at 100 %", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const session = await createSession(server.url);
    const w = await connectWatcher(server.url, { ...session, scope });
    const kept = await createUpload(server.url, session, { size: 3000 });
    const dropped = await createUpload(server.url, session, { size: 3000 });
    const { sessionId } = session;
    okData(await command(w.socket, "upload-cancel", { sessionId, fileId: dropped.id }));
    assert.equal((await patch(kept.location, session.token, 0, fileBytes(3000))).status, 204);

    const done = await w.events.waitFor("session-completed");
    assert.equal(done.summary.completedFiles, 1);
    assert.equal(done.summary.cancelledFiles, 1);
    const last = await w.events.waitFor("upload-progress", final);
    assert.equal(last.overallStatus, "completed");
    assert.equal(last.totalProgress, 100);
    assert.equal(w.events.named("session-error").length, 0);
  }));
