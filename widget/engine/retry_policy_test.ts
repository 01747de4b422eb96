/**
 * Issue #8 items 1 and 2 with the fakes (a clock and a random source the test drives, no
 * sleeps): progress forgives failures, the budget counts attempts in a row that moved nothing,
 * full-jitter backoff, the server's word (canRetry, maxRetries), wake-ups and stalls.
 */
import assert from "node:assert/strict";
import { UploadEngine } from "./engine.ts";
import { BASE, errorResponse, FakeClock, FakeServer, FakeSocket } from "./fakes.ts";
import { MemoryKeyValueStore } from "./memory_store.ts";
import { recordEvents, waitFor } from "./testing.ts";
import type { EngineOptions, EngineSnapshot, HttpRequest, HttpStack } from "./types.ts";

const jpeg = (size: number) =>
  new File([new Uint8Array(size)], "v.jpg", { type: "image/jpeg", lastModified: 7 });
const first = (s: EngineSnapshot) => s.files[0]!;

/** The default mode (one PATCH per file), a fixed random source and a wake the test fires. */
function setup(extra: Partial<EngineOptions> = {}, http?: (server: FakeServer) => HttpStack) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const socket = new FakeSocket();
  const wakes = { fire: () => {}, subscribed: false };
  const engine = new UploadEngine({
    endpoint: BASE,
    category: "personal",
    clientType: "web",
    http: http?.(server) ?? server,
    store: new MemoryKeyValueStore(),
    connectSocket: () => (queueMicrotask(() => socket.connect()), socket),
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    pollIntervalMs: 600_000,
    random: () => 0.5,
    wake: (listener) => {
      wakes.fire = listener;
      wakes.subscribed = true;
      return () => (wakes.subscribed = false);
    },
    ...extra,
  });
  const events = recordEvents(engine);
  const errors = () => events.filter((e) => e.name === "upload-error");
  return {
    clock,
    server,
    socket,
    engine,
    wakes,
    errors,
    [Symbol.dispose]: () => engine.destroy(),
  };
}

/** Every PATCH stores `stored` bytes (0: none), then the connection drops. */
function dropPatches(server: FakeServer, times: number, stored: number): void {
  let left = times;
  server.intercept = (r) => {
    if (r.method !== "PATCH" || left === 0) return undefined;
    left--;
    const upload = server.uploads.get(new URL(r.url).pathname.split("/").pop()!)!;
    upload.offset += stored;
    throw new TypeError("connection reset");
  };
}

Deno.test("retry policy - 10 drops that each moved the upload: it completes with no user action", async () => {
  using t = setup();
  const { engine, server, clock } = t;
  dropPatches(server, 10, 100);
  const [file] = engine.addFiles([jpeg(2000)]).added;
  await engine.start();
  for (let drop = 1; drop <= 10; drop++) {
    const s = await waitFor(
      engine,
      (s) => first(s).status === "retrying" && t.errors().length === drop,
      `drop ${drop}`,
    );
    // Each drop is the first in a row without progress: the 1 s ceiling, half of it.
    assert.deepEqual(first(s).retry, { attempt: 1, max: 5 }, `drop ${drop}`);
    assert.ok(clock.pending().includes(500), `a 500 ms wait (${clock.pending()})`);
    clock.advance(500);
  }
  const done = await waitFor(engine, (s) => s.complete, "completed");
  assert.equal(first(done).status, "completed");
  assert.equal(server.uploads.get(file!.id)!.offset, 2000);
  assert.equal(server.count("HEAD"), 10, "each attempt began from the server's offset");
  assert.equal(server.count("PATCH"), 11);
  assert.ok(t.errors().every((e) => (e.detail as { willRetry: boolean }).willRetry));
});

Deno.test("retry policy - 6 drops in a row without progress spend the budget of 5 (full-jitter backoff)", async () => {
  using t = setup({ random: () => 0.999 });
  const { engine, server, clock } = t;
  dropPatches(server, Infinity, 0);
  engine.addFiles([jpeg(2000)]);
  await engine.start();
  // The ceiling doubles from 1 s: 1, 2, 4, 8, 16 s; the wait is random below it.
  for (const [attempt, wait] of [[1, 999], [2, 1998], [3, 3996], [4, 7992], [5, 15984]] as const) {
    await waitFor(engine, (s) => first(s).retry?.attempt === attempt, `retry ${attempt}`);
    assert.ok(clock.pending().includes(wait), `${wait} ms (${clock.pending()})`);
    clock.advance(wait);
  }
  const failed = await waitFor(engine, (s) => first(s).status === "failed", "failed");
  assert.equal(first(failed).error?.code, "NETWORK_ERROR");
  assert.equal(first(failed).canRetry, true, "a manual retry is still offered");
  assert.equal(server.count("PATCH"), 6);
  assert.equal(server.count("HEAD"), 5);
});

Deno.test("retry policy - the server's maxRetries (upload-failed) is the budget", async () => {
  using t = setup();
  const { engine, server, clock, socket } = t;
  dropPatches(server, Infinity, 0);
  const [file] = engine.addFiles([jpeg(2000)]).added;
  await engine.start();
  await waitFor(engine, (s) => first(s).retry?.attempt === 1, "retry 1");
  socket.fire("upload-failed", {
    sessionId: server.sessionId,
    fileId: file!.id,
    fileName: "v.jpg",
    error: { code: "UPLOAD_INTERRUPTED", message: "interrupted" },
    failedAt: "",
    canRetry: true,
    retryCount: 1,
    maxRetries: 2,
  });
  clock.advance(500);
  await waitFor(engine, (s) => first(s).retry?.attempt === 2, "retry 2");
  assert.deepEqual(first(engine.snapshot).retry, { attempt: 2, max: 2 });
  clock.advance(1000);
  await waitFor(engine, (s) => first(s).status === "failed", "failed after 2 retries");
  assert.equal(server.count("PATCH"), 3);
});

Deno.test("retry policy - canRetry false from the server stops at once and says why", async () => {
  using t = setup();
  const { engine, server, clock, socket } = t;
  dropPatches(server, Infinity, 0);
  const [file] = engine.addFiles([jpeg(2000)]).added;
  await engine.start();
  await waitFor(engine, (s) => first(s).status === "retrying", "in backoff");
  socket.fire("upload-failed", {
    sessionId: server.sessionId,
    fileId: file!.id,
    fileName: "v.jpg",
    error: { code: "SESSION_CLOSED", message: "The session is closed" },
    failedAt: "",
    canRetry: false,
    retryCount: 0,
    maxRetries: 5,
  });
  const s = engine.snapshot;
  assert.equal(first(s).status, "failed");
  assert.deepEqual(first(s).error, { code: "SESSION_CLOSED", message: "The session is closed" });
  assert.deepEqual(clock.pending(), [], "no backoff left running");
  clock.advance(60_000);
  assert.equal(server.count("HEAD"), 0, "no retry");

  // The same from the HTTP answer: a code outside RETRYABLE fails at the first refusal.
  using u = setup();
  u.server.intercept = (r) =>
    r.method === "PATCH" ? errorResponse(413, "FILE_TOO_LARGE") : undefined;
  u.engine.addFiles([jpeg(2000)]);
  await u.engine.start();
  const refused = await waitFor(u.engine, (s) => first(s).status === "failed", "refused");
  assert.equal(first(refused).error?.code, "FILE_TOO_LARGE");
  assert.equal(u.server.count("PATCH"), 1);
  assert.equal(first(refused).retry, null, "never retried");
});

Deno.test("retry policy - online / page visible: a waiting retry goes at once, a spent budget starts again", async () => {
  using t = setup({ random: () => 0.999, maxRetries: 1 });
  const { engine, server, clock, wakes } = t;
  dropPatches(server, 3, 0);
  engine.addFiles([jpeg(2000)]);
  await engine.start();
  await waitFor(engine, (s) => first(s).status === "retrying", "in backoff");
  assert.deepEqual(clock.pending(), [999]);
  wakes.fire(); // the phone is back online: no waiting out the backoff
  await waitFor(engine, (s) => first(s).status === "failed", "the budget of 1 spent");
  assert.equal(server.count("HEAD"), 1, "retried at once");
  assert.equal(clock.time, 0, "without the clock moving");
  wakes.fire(); // the page became visible again: the network failure is worth a new round
  await waitFor(engine, (s) => first(s).status === "retrying", "retrying again");
  wakes.fire();
  const done = await waitFor(engine, (s) => s.complete, "completed");
  assert.equal(first(done).status, "completed");
  assert.equal(clock.time, 0);
  engine.destroy();
  assert.equal(wakes.subscribed, false, "destroy unsubscribes");
});

/** A PATCH that hangs (a half-dead connection) until aborted, reporting what the test says. */
function stuckPatches(server: FakeServer, stuck: HttpRequest[]): HttpStack {
  return {
    send(r) {
      if (r.method !== "PATCH" || stuck.length > 0) return server.send(r);
      stuck.push(r);
      return new Promise((_, reject) =>
        r.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))
      );
    },
  };
}

Deno.test("stalls - no progress for stallTimeoutMs aborts the PATCH, then HEAD and resume", async () => {
  const stuck: HttpRequest[] = [];
  using t = setup({ stallTimeoutMs: 3000 }, (server) => stuckPatches(server, stuck));
  const { engine, server, clock, socket } = t;
  const [file] = engine.addFiles([jpeg(2000)]).added;
  await engine.start();
  await waitFor(engine, () => stuck.length === 1, "the PATCH hangs");
  const patch = stuck[0]!;
  clock.advance(2000);
  patch.onUploadProgress?.(300); // body bytes went out: not a stall
  clock.advance(2000);
  // The server stored some (socket progress): not a stall either.
  server.uploads.get(file!.id)!.offset = 300;
  socket.fire("upload-progress", {
    sessionId: server.sessionId,
    currentFile: { ...server.snapshot().files[0]!, uploadedBytes: 300 },
  });
  clock.advance(2999);
  assert.equal(patch.signal?.aborted, false, "progress within the last 3 s");
  clock.advance(1);
  assert.equal(patch.signal?.aborted, true, "3 s without progress: aborted");
  const s = await waitFor(engine, (s) => first(s).status === "retrying", "retrying");
  assert.equal(first(s).error?.code, "CONNECTION_TIMEOUT");
  clock.advance(500);
  const done = await waitFor(engine, (s) => s.complete, "resumed and completed");
  assert.equal(first(done).status, "completed");
  assert.equal(server.count("HEAD"), 1, "resumed from the server's offset");
  assert.equal(server.uploads.get(file!.id)!.offset, 2000);
  assert.deepEqual(clock.pending(), [], "no watchdog left behind");
});
