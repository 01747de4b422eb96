import assert from "node:assert/strict";
import { fileBytes, harness } from "../testing/harness.ts";
import type { Principal } from "./principal.ts";
import type { RoomEvent } from "../../protocol/events.ts";

function bodyOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

function names(events: RoomEvent[]): string[] {
  return events.map((e) => e.name);
}

async function upload(
  h: Awaited<ReturnType<typeof harness>>,
  principal: Principal,
  size: number,
  fileId?: string,
) {
  const meta: Record<string, string> = { filename: "p.jpg", filetype: "image/jpeg" };
  if (fileId) meta.fileId = fileId;
  const record = await h.service.createUpload(principal, {
    length: size,
    metadata: meta,
    rawMetadata: "",
    concat: { kind: "none" },
  });
  return await h.service.patch(principal, record.id, bodyOf(fileBytes(size)), {
    offset: 0,
    contentLength: size,
    uploadLength: null,
    checksum: null,
  });
}

Deno.test("UploadService - announced files hold the session open until each one is done", async () => {
  await using h = await harness();
  const s = await h.service.createSession("personal", "web");
  const principal: Principal = { kind: "session", sessionId: s.sessionId };
  await h.service.start({ sessionId: s.sessionId, fileIds: ["f1", "f2"], category: "personal" });
  await upload(h, principal, 1000, "f1");
  assert.ok(!names(h.events).includes("session-completed"), "f2 is still announced");
  await upload(h, principal, 2000, "f2");
  const done = h.events.find((e) => e.name === "session-completed");
  assert.ok(done && done.name === "session-completed");
  assert.equal(done.payload.summary.totalFiles, 2);
  assert.equal(done.payload.summary.completedFiles, 2);
  assert.equal(done.payload.summary.uploadedSize, 3000);
  assert.equal(done.payload.summary.totalSize, 3000);
  assert.equal(done.payload.uploadPaths.length, 2);
  const snapshot = await h.service.snapshot(s.sessionId);
  assert.equal(snapshot.overallStatus, "completed");
  assert.equal(snapshot.totalProgress, 100);
  assert.deepEqual(snapshot.files.map((f) => f.status), ["completed", "completed"]);
});

Deno.test("UploadService - start refuses more files than the category allows and a foreign category", async () => {
  await using h = await harness({ H5_PERSONAL_MAX_FILES: "2" });
  const s = await h.service.createSession("personal", "web");
  await assert.rejects(
    h.service.start({ sessionId: s.sessionId, fileIds: ["a", "b", "c"], category: "personal" }),
    (e: { code?: string }) => e.code === "TOO_MANY_FILES",
  );
  await assert.rejects(
    h.service.start({ sessionId: s.sessionId, fileIds: ["a"], category: "scenic" }),
    (e: { code?: string }) => e.code === "INVALID_REQUEST",
  );
  await assert.rejects(
    h.service.start({ sessionId: s.sessionId, fileIds: ["../x"], category: "personal" }),
    (e: { code?: string }) => e.code === "INVALID_REQUEST",
  );
});

Deno.test("UploadService - cancelling the session cancels unfinished files and refuses new ones", async () => {
  await using h = await harness();
  const s = await h.service.createSession("personal", "web");
  const principal: Principal = { kind: "session", sessionId: s.sessionId };
  const record = await h.service.createUpload(principal, {
    length: 5000,
    metadata: { filename: "a.jpg", filetype: "image/jpeg" },
    rawMetadata: "",
    concat: { kind: "none" },
  });
  await h.service.cancel({ sessionId: s.sessionId });
  const cancelled = h.events.find((e) => e.name === "upload-cancelled");
  assert.ok(cancelled && cancelled.name === "upload-cancelled");
  assert.equal(cancelled.payload.fileId, undefined);
  assert.equal((await h.service.snapshot(s.sessionId)).overallStatus, "cancelled");
  await assert.rejects(
    h.service.createUpload(principal, {
      length: 1,
      metadata: {},
      rawMetadata: "",
      concat: { kind: "none" },
    }),
    (e: { code?: string }) => e.code === "SESSION_CLOSED",
  );
  await assert.rejects(
    h.service.getUpload(principal, record.id),
    (e: { code?: string }) => e.code === "UPLOAD_CANCELLED",
  );
});

Deno.test("UploadService - pause and resume of a finished file are refused with the spec's code", async () => {
  await using h = await harness();
  const s = await h.service.createSession("personal", "web");
  const done = await upload(h, { kind: "session", sessionId: s.sessionId }, 100);
  await assert.rejects(
    h.service.pause({ sessionId: s.sessionId, fileId: done.id }),
    (e: { code?: string }) => e.code === "UPLOAD_ALREADY_COMPLETED",
  );
  await assert.rejects(
    h.service.pause({ sessionId: s.sessionId, fileId: "nope" }),
    (e: { code?: string }) => e.code === "FILE_NOT_FOUND",
  );
  await assert.rejects(
    h.service.snapshot(crypto.randomUUID()),
    (e: { code?: string }) => e.code === "SESSION_NOT_FOUND",
  );
});

Deno.test("UploadService - tokens are bound to their session and expire", async () => {
  await using h = await harness();
  const a = await h.service.createSession("personal", "web");
  const b = await h.service.createSession("scenic", "mobile");
  await h.service.authorize(a.token, a.sessionId);
  await assert.rejects(
    h.service.authorize(a.token, b.sessionId),
    (e: { code?: string }) => e.code === "INSUFFICIENT_PERMISSIONS",
  );
  h.clock.now += h.config.tokenTtlMs + 1000;
  await assert.rejects(
    h.service.authorize(a.token, a.sessionId),
    (e: { code?: string }) => e.code === "INSUFFICIENT_PERMISSIONS",
  );
});

Deno.test("UploadService - cancelling an announced file that was never created lets the session complete", async () => {
  await using h = await harness();
  const s = await h.service.createSession("personal", "web");
  const principal: Principal = { kind: "session", sessionId: s.sessionId };
  await h.service.start({
    sessionId: s.sessionId,
    fileIds: ["keep", "drop"],
    category: "personal",
  });
  await upload(h, principal, 500, "keep");
  assert.ok(!names(h.events).includes("session-completed"));
  await h.service.cancel({ sessionId: s.sessionId, fileId: "drop" });
  assert.ok(names(h.events).includes("session-completed"));
});
