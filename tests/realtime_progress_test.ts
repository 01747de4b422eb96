/**
 * Issue #9: progress is published as per-file deltas and built only when the room's throttle
 * sends it. A real server, real watchers, real PATCHes; every wait is on an event or answer.
 */
import assert from "node:assert/strict";
import { fileBytes } from "../server/testing/harness.ts";
import { createSession, createUpload, patch } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { countingStore, startTestServer } from "./support/server.ts";
import { connectWatcher } from "./support/socket.ts";

const KiB = 1024;

Deno.test("realtime progress: no listUploads per commit (one read when the room opens)", () =>
  scoped(async (scope) => {
    const calls = new Map<string, number>();
    const server = await startTestServer({
      scope,
      wrapStore: (store) => countingStore(store, calls),
    });
    const session = await createSession(server.url);
    const w = await connectWatcher(server.url, { ...session, scope });
    const STEPS = 10;
    const step = 16 * KiB;
    const source = fileBytes(STEPS * step);
    const up = await createUpload(server.url, session, { size: source.length });
    const send = async (i: number) => {
      const answer = await patch(
        up.location,
        session.token,
        i * step,
        source.slice(i * step, (i + 1) * step),
      );
      assert.equal(answer.status, 204, JSON.stringify(answer.error));
    };
    await send(0);
    const before = calls.get("listUploads") ?? 0;
    // Each PATCH publishes its start and its committed end: before issue #9 a whole snapshot
    // (a listUploads) each time, however few of them the throttle let through.
    for (let i = 1; i < STEPS - 1; i++) await send(i);
    const during = (calls.get("listUploads") ?? 0) - before;
    await send(STEPS - 1);
    await w.events.waitFor("upload-completed", (e) => e.fileId === up.id);
    const last = await w.events.waitFor(
      "upload-progress",
      (e) => e.currentFile?.id === up.id && e.currentFile.status === "completed",
    );
    assert.equal(last.currentFile!.uploadedBytes, source.length);
    assert.equal(last.completedFiles, 1);
    assert.equal(during, 0, `${during} listUploads for ${STEPS - 2} PATCHes`);
  }));

Deno.test("realtime progress: a held-back update is built when sent (no stale session totals)", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const session = await createSession(server.url);
    const w = await connectWatcher(server.url, { ...session, scope });
    const a = fileBytes(256 * KiB);
    const b = fileBytes(8 * KiB);
    const upA = await createUpload(server.url, session, { size: a.length, filename: "a.jpg" });
    const upB = await createUpload(server.url, session, { size: b.length, filename: "b.jpg" });
    // A's PATCH: its `uploading` update goes out at once; its committed end follows within
    // 500 ms of it, so the throttle holds it back as a trailing update.
    const chunk = 64 * KiB;
    let answer = await patch(upA.location, session.token, 0, a.slice(0, chunk));
    assert.equal(answer.status, 204, JSON.stringify(answer.error));
    // B completes while A's update waits: completedFiles becomes 1 for every watcher.
    answer = await patch(upB.location, session.token, 0, b);
    assert.equal(answer.status, 204, JSON.stringify(answer.error));
    await w.events.waitFor("upload-completed", (e) => e.fileId === upB.id);
    const heardA = await w.events.waitFor(
      "upload-progress",
      (e) => e.currentFile?.id === upA.id && e.currentFile.uploadedBytes === chunk,
      { what: "A's committed bytes (the trailing update)" },
    );
    assert.equal(heardA.currentFile!.status, "uploading");
    // The counts a watcher hears never go back: an update built when A's bytes were committed,
    // before B completed, and sent afterwards would say completedFiles 0 again.
    let completed = 0;
    for (const e of w.events.named("upload-progress")) {
      assert.ok(
        e.completedFiles >= completed,
        `completedFiles went from ${completed} to ${e.completedFiles} (${
          e.currentFile?.id === upA.id ? "A" : "B"
        } at ${e.currentFile?.uploadedBytes})`,
      );
      completed = e.completedFiles;
    }
    assert.equal(completed, 1);
  }));
