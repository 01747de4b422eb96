/**
 * Limits before the first byte (issue #8, item 4): the engine reads the category's limits
 * (`GET /api/categories`) or the given session's (`GET /api/sessions/:id`) as soon as it
 * exists, so a file over them is refused when picked, before any upload request.
 */
import assert from "node:assert/strict";
import { UploadEngine } from "./engine.ts";
import { BASE, FakeClock, FakeServer } from "./fakes.ts";
import { MemoryKeyValueStore } from "./memory_store.ts";
import { waitFor } from "./testing.ts";
import type { EngineOptions } from "./types.ts";

const file = (size: number, name = "a.jpg", type = "image/jpeg") =>
  new File([new Uint8Array(size)], name, { type, lastModified: 7 });

function setup(extra: Partial<EngineOptions> = {}, server = new FakeServer()) {
  const clock = new FakeClock();
  const engine = new UploadEngine({
    endpoint: BASE,
    category: "personal",
    clientType: "mobile",
    http: server,
    store: new MemoryKeyValueStore(),
    connectSocket: null,
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    pollIntervalMs: 60_000,
    ...extra,
  });
  return { server, engine, [Symbol.dispose]: () => engine.destroy() };
}

/** Requests that create or send an upload (or a session to hold one). */
const uploadRequests = (server: FakeServer) =>
  server.log.filter((line) => /^(POST|PATCH|HEAD) \/api\/(uploads|sessions$)/.test(line));

Deno.test("limits - the category's limits are read at once: a file over them is refused when picked", async () => {
  using t = setup();
  const { engine, server } = t;
  const known = await waitFor(engine, (s) => s.limits !== null, "the category's limits");
  assert.deepEqual(known.limits, server.limits);
  assert.deepEqual(server.log, ["GET /api/categories"], "public: no session needed");

  const { added, rejected } = engine.addFiles([
    file(20_000_000, "huge.mp4", "video/mp4"),
    file(10, "notes.txt", "text/plain"),
    file(10, "ok.jpg"),
  ]);
  assert.deepEqual(rejected.map((r) => [r.name, r.reason, r.limit]), [
    ["huge.mp4", "size", "9.5 MB"],
    ["notes.txt", "type", "image/*,video/*"],
  ]);
  assert.equal(rejected[0]!.message, "“huge.mp4”: File too large (9.5 MB)");
  assert.deepEqual(added.map((f) => f.name), ["ok.jpg"]);
  assert.deepEqual(uploadRequests(server), [], "nothing sent for the refused files");
});

Deno.test("limits - the count limit applies to files picked one by one", async () => {
  using t = setup({ category: "scenic" });
  const { engine, server } = t;
  await waitFor(engine, (s) => s.limits !== null, "the scenic limits");
  assert.deepEqual(engine.snapshot.limits, server.scenic);
  assert.equal(engine.addFiles([file(10, "one.jpg")]).added.length, 1);
  const second = engine.addFiles([file(10, "two.jpg")]);
  assert.deepEqual(second.rejected.map((r) => [r.reason, r.limit]), [["count", "1"]]);
  assert.deepEqual(uploadRequests(server), []);
});

Deno.test("limits - a given session's limits come from its snapshot, with its token", async () => {
  const server = new FakeServer();
  server.snapshotLimits = { maxFileSize: 50, maxFiles: 9, allowedTypes: ["image/*"] };
  const tokens: (string | undefined)[] = [];
  server.intercept = (r) => void tokens.push(r.headers.Authorization);
  using t = setup({ sessionId: server.sessionId, token: server.token }, server);
  const { engine } = t;
  await waitFor(engine, (s) => s.limits !== null, "the session's limits");
  assert.deepEqual(engine.snapshot.limits, server.snapshotLimits);
  assert.deepEqual(server.log, [`GET /api/sessions/${server.sessionId}`]);
  assert.deepEqual(tokens, [`Bearer ${server.token}`]);
  assert.equal(engine.addFiles([file(51)]).rejected[0]?.reason, "size");
  assert.deepEqual(uploadRequests(server), []);
});

Deno.test("limits - a session snapshot without limits falls back to the category's", async () => {
  const server = new FakeServer();
  using t = setup({ category: "scenic", sessionId: server.sessionId, token: server.token }, server);
  const { engine } = t;
  await waitFor(engine, (s) => s.limits !== null, "the category's limits");
  assert.deepEqual(engine.snapshot.limits, server.scenic);
  assert.deepEqual(server.log, [`GET /api/sessions/${server.sessionId}`, "GET /api/categories"]);
  assert.equal(engine.addFiles([file(10, "v.mp4", "video/mp4")]).rejected[0]?.reason, "type");
});

Deno.test("limits - a file picked before the limits arrived is refused at start, never created", async () => {
  using t = setup();
  const { engine, server } = t;
  // Picked in the same task the engine was made: the limits are not known yet.
  const { added } = engine.addFiles([file(20_000_000, "huge.jpg"), file(10, "ok.jpg")]);
  assert.equal(added.length, 2);
  await engine.start();
  const done = await waitFor(
    engine,
    (s) => s.files.every((f) => f.status === "failed" || f.status === "completed"),
    "the refused file failed, the other uploaded",
  );
  const [huge, ok] = done.files;
  assert.equal(huge?.status, "failed");
  assert.equal(huge?.error?.code, "FILE_TOO_LARGE");
  assert.equal(huge?.canRetry, false);
  assert.equal(ok?.status, "completed");
  assert.equal(server.uploads.size, 1, "only the file within the limits became an upload");
  assert.ok(![...server.uploads.values()].some((u) => u.metadata.filename === "huge.jpg"));
});

Deno.test("limits - unknown limits (the server cannot tell) leave the checks to the server", async () => {
  const server = new FakeServer();
  server.intercept = (r) =>
    r.url.endsWith("/api/categories")
      ? { status: 404, header: () => null, text: "not here" }
      : undefined;
  using t = setup({}, server);
  const { engine } = t;
  assert.equal(engine.addFiles([file(10, "a.jpg")]).added.length, 1);
  await engine.start();
  await waitFor(engine, (s) => s.files[0]?.status === "completed", "uploaded");
  assert.deepEqual(engine.snapshot.limits, server.limits, "from the session once created");
});
