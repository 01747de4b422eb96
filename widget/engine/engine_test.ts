/**
 * The engine with fakes: an in-memory tus server, a socket the test plays, and a clock whose
 * timers run when the test says (so backoff and throttling are checked exactly, instantly).
 */
import assert from "node:assert/strict";
import { UploadEngine } from "./engine.ts";
import { BASE, errorResponse, FakeClock, FakeServer, FakeSocket } from "./fakes.ts";
import { MemoryKeyValueStore } from "./memory_store.ts";
import { fingerprint, ResumeStore } from "./resume_store.ts";
import { recordEvents, waitFor } from "./testing.ts";
import type { EngineOptions, EngineSnapshot, HttpRequest } from "./types.ts";

const jpeg = (size: number, name = "a.jpg") =>
  new File([new Uint8Array(size)], name, { type: "image/jpeg", lastModified: 7 });

function setup(extra: Partial<EngineOptions> = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const socket = new FakeSocket();
  const store = new MemoryKeyValueStore();
  const engine = new UploadEngine({
    endpoint: BASE,
    category: "personal",
    clientType: "web",
    http: server,
    store,
    connectSocket: () => (queueMicrotask(() => socket.connect()), socket),
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    chunkSize: 100,
    pollIntervalMs: 60_000,
    ...extra,
  });
  return { clock, server, socket, store, engine, [Symbol.dispose]: () => engine.destroy() };
}

/** Resolves on the first request `test` matches (the request still goes on). */
function requested(server: FakeServer, test: (r: HttpRequest) => boolean): Promise<HttpRequest> {
  const { promise, resolve } = Promise.withResolvers<HttpRequest>();
  const before = server.intercept;
  server.intercept = (r) => {
    if (test(r)) {
      server.intercept = before;
      resolve(r);
    }
    return before?.(r);
  };
  return promise;
}

const first = (s: EngineSnapshot) => s.files[0]!;

Deno.test("engine - automatic retries back off (full jitter), each from a HEAD; then a manual retry", async () => {
  using t = setup({ random: () => 0.75, maxRetries: 3 });
  const { engine, server, clock } = t;
  const events = recordEvents(engine);
  server.intercept = (r) => {
    if (r.method === "PATCH") throw new TypeError("offline");
    return undefined;
  };
  const [file] = engine.addFiles([jpeg(250)]).added;
  await engine.start();
  for (const [attempt, delay] of [[1, 750], [2, 1500], [3, 3000]] as const) {
    const s = await waitFor(
      engine,
      (s) => first(s).status === "retrying" && first(s).retry?.attempt === attempt,
      `retry ${attempt}`,
    );
    assert.deepEqual(first(s).retry, { attempt, max: 3 });
    assert.equal(first(s).error?.code, "NETWORK_ERROR");
    assert.ok(clock.pending().includes(delay), `a ${delay} ms backoff (${clock.pending()})`);
    clock.advance(delay - 1);
    assert.equal(server.count("HEAD"), attempt - 1, "not before the delay");
    clock.advance(1);
  }
  const failed = await waitFor(engine, (s) => first(s).status === "failed", "failed");
  assert.equal(first(failed).canRetry, true, "a manual retry is offered");
  assert.deepEqual(first(failed).retry, { attempt: 3, max: 3 });
  assert.equal(server.count("HEAD"), 3, "each retry asked the server's offset");
  assert.equal(server.count("POST /api/uploads"), 1);
  assert.deepEqual(
    events.filter((e) => e.name === "upload-error").map((e) =>
      (e.detail as { willRetry: boolean }).willRetry
    ),
    [true, true, true, false],
  );

  server.intercept = undefined;
  engine.retry(file!.id);
  const done = await waitFor(engine, (s) => s.complete, "completed after a manual retry");
  assert.equal(first(done).retry, null, "the counter was reset");
  assert.equal(server.count("HEAD"), 4, "the manual retry resumed from a HEAD");
  assert.equal(server.uploads.get(file!.id)?.offset, 250);
});

Deno.test("engine - the backoff ceiling stops at 30 s", async () => {
  using t = setup({ random: () => 0.5, maxRetries: 8 });
  t.server.intercept = (r) => {
    if (r.method === "PATCH") throw new TypeError("offline");
    return undefined;
  };
  t.engine.addFiles([jpeg(50)]);
  await t.engine.start();
  const waits = [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000];
  for (const [i, wait] of waits.entries()) {
    await waitFor(t.engine, (s) => first(s).retry?.attempt === i + 1, `retry ${i + 1}`);
    assert.ok(t.clock.pending().includes(wait), `${wait} ms (${t.clock.pending()})`);
    t.clock.advance(wait);
  }
  await waitFor(t.engine, (s) => first(s).status === "failed", "failed");
});

Deno.test("engine - a pause from another device stops the PATCH without failing; a resume continues", async () => {
  using t = setup();
  const { engine, server, socket } = t;
  const events = recordEvents(engine);
  const [file] = engine.addFiles([jpeg(250)]).added;
  server.hold = true;
  const patch = requested(server, (r) => r.method === "PATCH");
  await engine.start();
  const request = await patch;
  socket.fire("upload-paused", {
    sessionId: server.sessionId,
    fileId: file!.id,
    reason: "paused elsewhere",
    pausedAt: "",
    uploadedBytes: 0,
  });
  const paused = engine.snapshot;
  assert.equal(first(paused).status, "paused");
  assert.equal(first(paused).error, null);
  assert.ok(request.signal?.aborted, "the local PATCH was aborted");
  server.release();

  socket.fire("upload-resumed", {
    sessionId: server.sessionId,
    fileId: file!.id,
    uploadedBytes: 0,
  });
  await waitFor(engine, (s) => s.complete, "completed");
  assert.equal(server.count("HEAD"), 1, "continued from the server's offset");
  assert.ok(!events.some((e) => e.name === "upload-error"));
  assert.ok(!socket.sent.some((e) => e.name === "upload-pause"), "nothing echoed back");
});

Deno.test("engine - 423 UPLOAD_PAUSED means paused by the server: no retry, no error", async () => {
  using t = setup();
  const { engine, server, socket } = t;
  const events = recordEvents(engine);
  const [file] = engine.addFiles([jpeg(250)]).added;
  server.intercept = (r) => {
    if (r.method !== "PATCH") return undefined;
    server.intercept = undefined;
    return errorResponse(423, "UPLOAD_PAUSED", { "Upload-Offset": "0" });
  };
  await engine.start();
  const s = await waitFor(engine, (s) => first(s).status === "paused", "paused");
  assert.equal(first(s).retry, null);
  assert.equal(first(s).error, null);
  assert.ok(!events.some((e) => e.name === "upload-error"));
  socket.fire("upload-resumed", {
    sessionId: server.sessionId,
    fileId: file!.id,
    uploadedBytes: 0,
  });
  await waitFor(engine, (s) => s.complete, "completed after the server's resume");
});

Deno.test("engine - 409 continues from the server's Upload-Offset", async () => {
  using t = setup();
  const { engine, server } = t;
  const [file] = engine.addFiles([jpeg(300)]).added;
  let patches = 0;
  const offsets: string[] = [];
  server.intercept = (r) => {
    if (r.method !== "PATCH") return undefined;
    offsets.push(r.headers["Upload-Offset"]!);
    if (++patches !== 2) return undefined;
    server.uploads.get(file!.id)!.offset = 200; // another request wrote 100..200
    return errorResponse(409, "OFFSET_MISMATCH", { "Upload-Offset": "200" });
  };
  await engine.start();
  const done = await waitFor(engine, (s) => s.complete, "completed");
  assert.deepEqual(offsets, ["0", "100", "200"]);
  assert.equal(server.count("HEAD"), 0, "the 409 answer carried the offset");
  assert.equal(first(done).retry, null);
});

Deno.test("engine - a stored upload continues from HEAD; one that is gone (404) is created anew", async () => {
  using t = setup({ sessionId: crypto.randomUUID(), token: "tok" });
  const { engine, server, store } = t;
  const resume = new ResumeStore(store, BASE);
  const kept = jpeg(300, "kept.jpg");
  const lost = jpeg(200, "lost.jpg");
  const sessionId = engine.snapshot.sessionId!;
  server.uploads.set("kept-upload", {
    id: "kept-upload",
    length: 300,
    offset: 100,
    metadata: {},
    status: "uploading",
    path: null,
  });
  for (const [file, id] of [[kept, "kept-upload"], [lost, "lost-upload"]] as const) {
    resume.set(fingerprint(file), {
      uploadUrl: `${BASE}/api/uploads/${id}`,
      fileId: id,
      sessionId,
      token: "tok",
    });
  }
  const { added } = engine.addFiles([kept, lost]);
  await engine.start();
  const done = await waitFor(engine, (s) => s.complete, "both completed");
  assert.equal(server.count("POST /api/sessions"), 0, "the given session");
  assert.equal(server.uploads.get("kept-upload")?.status, "completed");
  assert.equal(server.count("PATCH /api/uploads/kept-upload"), 2, "200 bytes from offset 100");
  const fresh = [...server.uploads.keys()].filter((id) => id !== "kept-upload");
  assert.equal(fresh.length, 1);
  assert.notEqual(fresh[0], "lost-upload", "a new server id");
  assert.deepEqual(done.files.map((f) => f.id), added.map((f) => f.id), "local ids unchanged");
  assert.equal(store.map.size, 0);
});

Deno.test("engine - final failures from the room stop a file; transient ones do not", async () => {
  using t = setup({ parallel: 3 });
  const { engine, server, socket, store } = t;
  const events = recordEvents(engine);
  const [a, b, c] = engine.addFiles([jpeg(250, "a.jpg"), jpeg(250, "b.jpg"), jpeg(250, "c.jpg")])
    .added;
  server.hold = true;
  await engine.start();
  await waitFor(engine, (s) => s.files.every((f) => f.uploadUrl), "three uploads created");
  const sessionId = server.sessionId;
  const failed = (fileId: string, code: string, canRetry: boolean) =>
    socket.fire("upload-failed", {
      sessionId,
      fileId,
      fileName: "",
      error: { code, message: code },
      failedAt: "",
      canRetry,
      retryCount: 9,
      maxRetries: 5,
    });
  failed(a!.id, "UPLOAD_INTERRUPTED", false); // our own abort, heard back: not final
  failed(a!.id, "FILE_TYPE_NOT_ALLOWED", false);
  socket.fire("session-error", {
    sessionId,
    error: { code: "SESSION_TIMEOUT", message: "expired" },
    action: "stop",
    affectedFiles: [b!.id],
    timestamp: "",
  });
  socket.fire("upload-cancelled", { sessionId, fileId: c!.id, reason: "", cancelledAt: "" });
  const s = engine.snapshot;
  const [fa, fb, fc] = s.files;
  assert.equal(fa!.status, "failed");
  assert.equal(fa!.error?.code, "FILE_TYPE_NOT_ALLOWED");
  assert.equal(fa!.canRetry, false);
  assert.equal(fb!.status, "failed");
  assert.equal(fb!.error?.code, "SESSION_TIMEOUT");
  assert.equal(fb!.canRetry, false);
  assert.equal(fc!.status, "cancelled");
  assert.equal(events.filter((e) => e.name === "upload-error").length, 2);
  assert.equal(store.map.size, 0, "no resume entry for files that cannot continue");
  server.release();
});

Deno.test("engine - listeners hear once per microtask; progress is throttled (50 ms / 250 ms)", async () => {
  using t = setup({ chunkSize: 1000 });
  const { engine, server, clock } = t;
  const notified: number[] = [];
  engine.subscribe(() => notified.push(clock.time));
  const progressAt: number[] = [];
  engine.on("upload-progress", (d) => {
    assert.ok(d.totals.bytes === 3000);
    progressAt.push(clock.time);
  });
  engine.addFiles([jpeg(1000, "a.jpg")]);
  engine.addFiles([jpeg(1000, "b.jpg")]);
  engine.addFiles([jpeg(1000, "c.jpg")]);
  assert.equal(notified.length, 0, "not synchronously");
  await Promise.resolve();
  assert.equal(notified.length, 1, "one notification for three changes");

  server.progressSteps = Array.from({ length: 50 }, (_, i) => (i + 1) / 50);
  server.onProgressStep = () => clock.advance(10);
  const seen: EngineSnapshot[] = [];
  engine.subscribe((s) => seen.push(s));
  await engine.start();
  await waitFor(engine, (s) => s.complete, "complete");
  const calls = 3 * 50;
  assert.ok(
    notified.length < calls / 3,
    `${notified.length} notifications for ${calls} progress calls`,
  );
  for (let i = 1; i < progressAt.length; i++) {
    assert.ok(progressAt[i]! - progressAt[i - 1]! >= 0);
  }
  const perFile = new Map<string, number[]>();
  for (const s of seen) {
    for (const f of s.files) {
      const list = perFile.get(f.id) ?? [];
      if (list.at(-1) !== f.bytesSent) list.push(f.bytesSent);
      perFile.set(f.id, list);
    }
  }
  for (const list of perFile.values()) {
    assert.deepEqual(list, list.toSorted((x, y) => x - y), "bytesSent never decreases");
    assert.ok(list.length > 3, "intermediate progress was shown");
  }
  assert.ok(progressAt.length >= 3, "upload-progress events");
});

Deno.test("engine - upload-progress events are at most every 250 ms per file", async () => {
  using t = setup({ chunkSize: 10_000, parallel: 1 });
  const { engine, server, clock } = t;
  const times: number[] = [];
  engine.on("upload-progress", () => times.push(clock.time));
  engine.addFiles([jpeg(10_000)]);
  server.progressSteps = Array.from({ length: 100 }, (_, i) => (i + 1) / 100);
  server.onProgressStep = () => clock.advance(20);
  await engine.start();
  await waitFor(engine, (s) => s.complete, "complete");
  assert.ok(times.length >= 5 && times.length <= 9, `${times.length} events over 2 s`);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 250);
  const s = engine.snapshot;
  assert.equal(first(s).speed, 0, "no speed once completed");
  assert.equal(first(s).eta, 0);
});

Deno.test("engine - speed and ETA while uploading, totals across files", async () => {
  using t = setup({ chunkSize: 100_000 });
  const { engine, server, clock } = t;
  engine.addFiles([jpeg(100_000)]);
  server.hold = true;
  server.progressSteps = Array.from({ length: 10 }, (_, i) => (i + 1) / 20); // up to half
  server.onProgressStep = () => clock.advance(250); // 5000 B per 250 ms = 20 kB/s
  const midway = waitFor(engine, (s) => first(s).bytesSent >= 50_000, "halfway");
  server.hold = false;
  await engine.start();
  const s = await midway;
  assert.ok(Math.abs(first(s).speed - 20_000) < 1000, `speed ${first(s).speed}`);
  assert.ok(Math.abs(first(s).eta! - 2.5) <= 1, `eta ${first(s).eta}`);
  assert.equal(s.totals.speed, first(s).speed);
  assert.equal(s.busy, true);
  await waitFor(engine, (s) => s.complete, "complete");
});

Deno.test("engine - files of another device: shown, commanded, and their completion", async () => {
  using t = setup();
  const { engine, server, socket } = t;
  const events = recordEvents(engine);
  await engine.start();
  const sessionId = server.sessionId;
  socket.fire("upload-started", {
    sessionId,
    fileId: "phone-1",
    fileName: "IMG_1.jpg",
    fileSize: 500,
    startTime: "",
  });
  const current = (uploadedBytes: number) => ({
    id: "phone-1",
    originalName: "IMG_1.jpg",
    progress: 0,
    status: "uploading",
    uploadedBytes,
    totalBytes: 500,
  });
  socket.fire("upload-progress", {
    sessionId,
    overallStatus: "uploading",
    currentFile: current(200),
  });
  socket.fire("upload-progress", {
    sessionId,
    overallStatus: "uploading",
    currentFile: current(100),
  });
  const s = engine.snapshot;
  assert.equal(s.files.length, 1);
  assert.deepEqual(
    { ...first(s), speed: 0, eta: null },
    {
      id: "phone-1",
      name: "IMG_1.jpg",
      size: 500,
      type: "",
      status: "uploading",
      bytesSent: 200,
      bytesConfirmed: 200,
      progress: 0.4,
      speed: 0,
      eta: null,
      retry: null,
      error: null,
      canRetry: false,
      uploadUrl: null,
      uploadPath: null,
      remote: true,
    },
  );
  assert.equal(s.busy, false, "another device's upload does not make this page busy");
  assert.equal(engine.file("phone-1"), undefined);

  engine.pause("phone-1");
  assert.deepEqual(socket.sent.at(-1), {
    name: "upload-pause",
    payload: { sessionId, fileId: "phone-1" },
  });
  assert.equal(first(engine.snapshot).status, "paused");
  engine.resume("phone-1");
  assert.equal(socket.sent.at(-1)?.name, "upload-resume");
  socket.fire("upload-resumed", { sessionId, fileId: "phone-1", uploadedBytes: 200 });
  assert.equal(first(engine.snapshot).status, "uploading");

  socket.fire("upload-completed", {
    sessionId,
    fileId: "phone-1",
    fileName: "IMG_1.jpg",
    fileSize: 500,
    uploadPath: "personal/x.jpg",
  });
  assert.equal(first(engine.snapshot).status, "completed");
  assert.equal(events.filter((e) => e.name === "session-complete").length, 0, "the server decides");
  socket.fire("session-completed", { sessionId, uploadPaths: ["personal/x.jpg"] });
  socket.fire("session-completed", { sessionId, uploadPaths: ["personal/x.jpg"] });
  const completes = events.filter((e) => e.name === "session-complete");
  assert.equal(completes.length, 1);
  assert.deepEqual((completes[0]!.detail as { uploadPaths: string[] }).uploadPaths, [
    "personal/x.jpg",
  ]);
  engine.remove("phone-1");
  assert.equal(engine.snapshot.files.length, 0);
});

Deno.test("engine - polling merges the snapshot and completes", async () => {
  using t = setup({ connectSocket: null, pollIntervalMs: 1000 });
  const { engine, server, clock } = t;
  engine.addFiles([jpeg(150)]);
  await engine.start();
  assert.equal(engine.snapshot.connection, "polling");
  await waitFor(engine, (s) => s.complete, "complete");
  assert.equal(
    first(engine.snapshot).uploadPath,
    `personal/2024/01/01/${first(engine.snapshot).id}.jpg`,
  );
  const gets = server.count("GET /api/sessions/");
  // Another device's file appears by polling.
  server.uploads.set("other", {
    id: "other",
    length: 10,
    offset: 5,
    metadata: { filename: "o.jpg" },
    status: "uploading",
    path: null,
  });
  engine.addFiles([jpeg(10, "new.jpg")]); // not complete any more: polling resumes
  clock.advance(1000);
  await waitFor(engine, (s) => s.files.some((f) => f.id === "other"), "the other file");
  assert.ok(server.count("GET /api/sessions/") > gets);
});

Deno.test("engine - client checks in addFiles, with the session's limits once known", async () => {
  using t = setup({ accept: "image/*,.mov", maxFiles: 3 });
  const { engine } = t;
  const r1 = engine.addFiles([
    jpeg(10),
    new File(["x"], "a.txt", { type: "text/plain" }),
    new File([], "empty.jpg", { type: "image/jpeg" }),
    new File(["x"], "clip.mov", { type: "video/quicktime" }),
  ]);
  assert.equal(r1.added.length, 2);
  assert.deepEqual(r1.rejected.map((r) => r.reason), ["type", "empty"]);
  await engine.start();
  assert.equal(engine.snapshot.limits?.maxFiles, 5);
  const r2 = engine.addFiles([jpeg(20_000_000, "huge.jpg"), jpeg(10, "b.jpg"), jpeg(10, "c.jpg")]);
  assert.deepEqual(r2.rejected.map((r) => r.reason), ["size", "count"]);
  assert.equal(r2.added.length, 1);
  assert.ok(r2.rejected.every((r) => r.message.length > 0));
});

Deno.test("engine - cancel: socket command, DELETE, status; pause/resume of a local file", async () => {
  using t = setup({ parallel: 1 });
  const { engine, server, socket, store } = t;
  const [a, b] = engine.addFiles([jpeg(300, "a.jpg"), jpeg(300, "b.jpg")]).added;
  server.hold = true;
  const patch = requested(server, (r) => r.method === "PATCH");
  await engine.start();
  await patch;
  engine.pause(a!.id);
  assert.deepEqual(socket.sent.at(-1), {
    name: "upload-pause",
    payload: { sessionId: server.sessionId, fileId: a!.id },
  });
  engine.pause(b!.id); // queued, not on the server yet: paused here only
  assert.deepEqual(engine.snapshot.files.map((f) => f.status), ["paused", "paused"]);
  assert.equal(socket.sent.filter((e) => e.name === "upload-pause").length, 1);

  const deleted = requested(server, (r) => r.method === "DELETE");
  engine.cancel(a!.id);
  assert.equal(first(engine.snapshot).status, "cancelled");
  assert.equal(socket.sent.at(-1)?.name, "upload-cancel");
  assert.equal((await deleted).url, `${BASE}/api/uploads/${a!.id}`);
  assert.ok(![...store.map.keys()].some((k) => k.includes("a.jpg")));

  server.release();
  engine.resume();
  const done = await waitFor(engine, (s) => s.complete, "b completed");
  assert.deepEqual(done.files.map((f) => f.status), ["cancelled", "completed"]);
  assert.equal(engine.file(b!.id)?.name, "b.jpg");
  engine.remove(a!.id);
  assert.equal(engine.snapshot.files.length, 1);
});

Deno.test("engine - destroy aborts requests, clears timers and goes quiet", async () => {
  const t = setup();
  const { engine, server, clock } = t;
  engine.addFiles([jpeg(300)]);
  server.hold = true;
  const patch = requested(server, (r) => r.method === "PATCH");
  await engine.start();
  const request = await patch;
  let heard = 0;
  engine.subscribe(() => heard++);
  engine.destroy();
  assert.ok(request.signal?.aborted);
  assert.ok(t.socket.disconnected);
  const requests = server.log.length;
  engine.addFiles([jpeg(10, "late.jpg")]);
  await engine.start();
  await Promise.resolve();
  assert.equal(server.log.length, requests, "no request after destroy");
  assert.equal(heard, 0);
  assert.deepEqual(clock.pending(), []);
});

Deno.test("engine - a throwing host listener is reported, not taken for an upload failure", async () => {
  const reported: unknown[] = [];
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    reported.push(e.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    using t = setup();
    t.engine.on("upload-start", () => {
      throw new Error("view bug in an event listener");
    });
    t.engine.subscribe(() => {
      throw new Error("view bug in a subscriber");
    });
    t.engine.addFiles([jpeg(250)]);
    await t.engine.start();
    const s = await waitFor(t.engine, (s) => s.complete, "completed anyway");
    assert.equal(first(s).retry, null);
    assert.equal(t.server.count("HEAD"), 0);
    const messages = reported.map((e) => (e as Error).message);
    assert.ok(messages.includes("view bug in an event listener"));
    assert.ok(messages.includes("view bug in a subscriber"));
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

// ------------------------------------------------------------------ how a session ends (#7, 15)

Deno.test("engine - a refused file ends the files failed: no success, totals below 100 %", async () => {
  using t = setup({ parallel: 1 });
  const { engine, server } = t;
  const events = recordEvents(engine);
  const [, bad] = engine.addFiles([jpeg(200, "a.jpg"), jpeg(200, "b.jpg")]).added;
  server.intercept = (r) =>
    r.method === "PATCH" && r.url.endsWith(bad!.id)
      ? errorResponse(415, "FILE_TYPE_NOT_ALLOWED")
      : undefined;
  await engine.start();
  const s = await waitFor(engine, (s) => s.ended !== null, "the files ended");
  assert.deepEqual(s.files.map((f) => f.status), ["completed", "failed"]);
  assert.equal(s.ended, "failed");
  assert.equal(s.complete, false);
  // Like the server's totalProgress: the refused file is expected and stores nothing.
  assert.equal(s.totals.progress, 0.5);
  assert.equal(events.filter((e) => e.name === "session-complete").length, 0);
});

Deno.test("engine - files all cancelled from the room end cancelled, not complete", async () => {
  using t = setup({ parallel: 2 });
  const { engine, server, socket } = t;
  const events = recordEvents(engine);
  const [a, b] = engine.addFiles([jpeg(300, "a.jpg"), jpeg(300, "b.jpg")]).added;
  server.hold = true;
  await engine.start();
  await waitFor(engine, (s) => s.files.every((f) => f.uploadUrl), "both uploads created");
  const sessionId = server.sessionId;
  for (const f of [a!, b!]) {
    socket.fire("upload-cancelled", { sessionId, fileId: f.id, reason: "", cancelledAt: "" });
  }
  socket.fire("upload-progress", { sessionId, overallStatus: "cancelled", totalProgress: 0 });
  const s = engine.snapshot;
  assert.equal(s.ended, "cancelled");
  assert.equal(s.complete, false);
  assert.equal(s.totals.progress, 0);
  assert.equal(events.filter((e) => e.name === "session-complete").length, 0);
  server.release();
});

Deno.test("engine - the session-error that ends a failed session names each failure once", async () => {
  using t = setup();
  const { engine, server, socket } = t;
  const events = recordEvents(engine);
  await engine.start();
  const sessionId = server.sessionId;
  socket.fire("upload-started", {
    sessionId,
    fileId: "phone-1",
    fileName: "IMG_1.jpg",
    fileSize: 500,
    startTime: "",
  });
  socket.fire("upload-failed", {
    sessionId,
    fileId: "phone-1",
    fileName: "IMG_1.jpg",
    error: { code: "FILE_TOO_LARGE", message: "too large" },
    failedAt: "",
    canRetry: false,
    retryCount: 0,
    maxRetries: 3,
  });
  // "tablet-1" failed on a device this page never heard of: only the server knows it.
  server.uploads.set("tablet-1", {
    id: "tablet-1",
    length: 100,
    offset: 0,
    metadata: { filename: "IMG_2.jpg" },
    status: "failed",
    path: null,
  });
  // The server's end: its summary, and the first failure's code for the session.
  socket.fire("session-error", {
    sessionId,
    error: { code: "FILE_TYPE_NOT_ALLOWED", message: "2 of 2 files failed" },
    action: "stop",
    affectedFiles: ["phone-1", "tablet-1"],
    timestamp: "",
    summary: { totalFiles: 2, completedFiles: 0, failedFiles: 2, cancelledFiles: 0 },
  });
  assert.equal(first(engine.snapshot).error?.code, "FILE_TOO_LARGE", "its own error stays");
  assert.equal(events.filter((e) => e.name === "upload-error").length, 1, "heard once");
  const s = await waitFor(engine, (s) => s.files.length === 2, "the snapshot shows tablet-1");
  assert.deepEqual(s.files.map((f) => f.status), ["failed", "failed"]);
  assert.equal(s.ended, "failed");
  assert.equal(events.filter((e) => e.name === "session-complete").length, 0);
});
