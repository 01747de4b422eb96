/**
 * State that must not only grow (issue #7, item 12): speed meters and touch marks are
 * forgotten on every terminal path, and ended sessions with their upload records are deleted
 * after H5_SESSION_RETENTION_MS (finished files stay, unfinished parts go). Real server, real
 * HTTP and disk; the service's clock is the test's, so leases end without waiting for them.
 */
import assert from "node:assert/strict";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";
import {
  bearer,
  createSession,
  createUpload,
  exists,
  head,
  OCTET,
  patch,
  streamPatch,
  TUS,
} from "./support/http.ts";
import { EventLog } from "./support/socket.ts";
import { openState } from "./support/state_db.ts";
import { fileBytes } from "../server/testing/harness.ts";
import { within } from "./support/deadline.ts";

const TIMEOUT_MS = 60_000;
const RETENTION_MS = 3_600_000;
const ENV = {
  H5_SESSION_TIMEOUT_MS: String(TIMEOUT_MS),
  H5_SESSION_RETENTION_MS: String(RETENTION_MS),
};
/** The sweep runs only when the test calls it. */
const NEVER = 24 * 3_600_000;

Deno.test("state - speed meters and touch marks are gone after every terminal path", () =>
  scoped(async (scope) => {
    const clock = { now: Date.now() };
    const server = await startTestServer({
      scope,
      env: ENV,
      sweepEveryMs: NEVER,
      now: () => clock.now,
    });
    const service = server.running.service;
    const { log, stop } = EventLog.ofBus(server.running.bus);
    scope.defer("stop recording", stop);
    const s = await createSession(server.url);
    const jpeg = fileBytes(1000);

    // Completed.
    const done = await createUpload(server.url, s, { size: 1000 });
    assert.equal((await patch(done.location, s.token, 0, jpeg)).status, 204);
    // Interrupted: the client goes away mid-body.
    const cut = await createUpload(server.url, s, { size: 100_000 });
    const streamed = streamPatch(scope, cut.location, s.token, 0);
    streamed.body.push(jpeg);
    await log.waitFor("upload-started", (p) => (p as { fileId: string }).fileId === cut.id);
    streamed.abort(new Error("client gone"));
    await within(
      log.waitFor("upload-failed", (p) => (p as { fileId: string }).fileId === cut.id),
      "the interrupted upload to fail",
    );
    // Refused content.
    const bad = await createUpload(server.url, s, { size: 1000 });
    assert.equal((await patch(bad.location, s.token, 0, new Uint8Array(1000))).status, 415);
    // Cancelled after some bytes.
    const gone = await createUpload(server.url, s, { size: 1000 });
    assert.equal((await patch(gone.location, s.token, 0, jpeg.slice(0, 500))).status, 204);
    const del = await fetch(gone.location, {
      method: "DELETE",
      headers: { ...TUS, ...bearer(s.token) },
    });
    await del.body?.cancel();
    assert.equal(del.status, 204);
    // A partial upload that finished (a part waiting for its final upload).
    const part = await fetch(server.tusEndpoint, {
      method: "POST",
      headers: {
        ...TUS,
        ...bearer(s.token),
        "Upload-Length": "1000",
        "Upload-Concat": "partial",
        "Content-Type": OCTET,
      },
      body: jpeg,
    });
    await part.body?.cancel();
    assert.equal(part.status, 201);
    // Half uploaded, then the session expires.
    const idle = await createUpload(server.url, s, { size: 1000 });
    assert.equal((await patch(idle.location, s.token, 0, jpeg.slice(0, 500))).status, 204);
    assert.ok(service.stateSizes().speedMeters > 0, "meters exist while uploads are open");

    clock.now += TIMEOUT_MS + 1;
    await service.sweep();
    assert.equal((await head(idle.location, s.token)).status, 410);
    assert.deepEqual(service.stateSizes(), { speedMeters: 0, touchedSessions: 0, activeWrites: 0 });
  }));

Deno.test("state - ended sessions and their records are deleted after the retention; files stay, parts go", () =>
  scoped(async (scope) => {
    const clock = { now: Date.now() };
    const server = await startTestServer({
      scope,
      env: ENV,
      sweepEveryMs: NEVER,
      now: () => clock.now,
    });
    const service = server.running.service;
    const { log, stop } = EventLog.ofBus(server.running.bus);
    scope.defer("stop recording", stop);
    const jpeg = fileBytes(1000);

    // Expires: one finished file, one half-uploaded part.
    const expiring = await createSession(server.url);
    const kept = await createUpload(server.url, expiring, { size: 1000 });
    assert.equal((await patch(kept.location, expiring.token, 0, jpeg)).status, 204);
    const half = await createUpload(server.url, expiring, { size: 1000 });
    assert.equal((await patch(half.location, expiring.token, 0, jpeg.slice(0, 500))).status, 204);
    // Cancelled by its owner.
    const cancelled = await createSession(server.url);
    const cancelledUpload = await createUpload(server.url, cancelled, { size: 1000 });
    const res = await fetch(`${server.url}/api/sessions/${cancelled.sessionId}`, {
      method: "DELETE",
      headers: bearer(cancelled.token),
    });
    await res.body?.cancel();
    assert.ok(res.ok, `DELETE session: ${res.status}`);
    // Completed: every file done.
    const completed = await createSession(server.url);
    const finished = await createUpload(server.url, completed, { size: 1000 });
    assert.equal((await patch(finished.location, completed.token, 0, jpeg)).status, 204);

    const paths = log.all.filter((e) => e.name === "upload-completed")
      .map((e) => (e.payload as { uploadPath: string }).uploadPath);
    assert.equal(paths.length, 2);
    const halfPart = `${server.uploadsDir}/.parts/${half.id}`;
    assert.equal(await exists(halfPart), true);

    // The sessions end; their records stay for the retention (410, not 404).
    clock.now += TIMEOUT_MS + 1;
    await service.sweep();
    assert.equal((await head(half.location, expiring.token)).status, 410);
    const state = openState(server.dataDir);
    scope.defer("close the state db", () => state.close());
    assert.equal(state.counts().sessions, 3);
    assert.equal(state.counts().uploads, 4);

    // A session still in use is kept whatever its age.
    const active = await createSession(server.url);
    clock.now += RETENTION_MS + 1;
    await service.sweep();
    assert.equal(state.session(expiring.sessionId), null);
    assert.equal(state.session(cancelled.sessionId), null);
    assert.equal(state.session(completed.sessionId), null);
    for (const id of [kept.id, half.id, cancelledUpload.id, finished.id]) {
      assert.equal(state.upload(id), null, `upload ${id} deleted`);
    }
    // `active` expired on this sweep (no activity for an hour): ended now, deleted later.
    assert.equal(state.session(active.sessionId)?.status, "expired");
    for (const path of paths) {
      assert.equal(await exists(`${server.uploadsDir}/${path}`), true, `${path} stays`);
    }
    assert.equal(await exists(halfPart), false, "the unfinished part is gone");
    const snapshot = await fetch(`${server.url}/api/sessions/${expiring.sessionId}`, {
      headers: bearer(expiring.token),
    });
    const body = await snapshot.json();
    assert.equal(snapshot.status, 404, JSON.stringify(body));
    assert.equal(body.error.code, "SESSION_NOT_FOUND");
    assert.deepEqual(service.stateSizes(), { speedMeters: 0, touchedSessions: 0, activeWrites: 0 });
  }));
