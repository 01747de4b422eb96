/**
 * The engine with its socket down (issue #8, item 5): pause, resume and cancel go over HTTP
 * to the server (which enforces them and tells the room), and the engine redials the socket
 * while it polls. Fakes: an in-memory server, a socket the test refuses or lets through.
 */
import assert from "node:assert/strict";
import { UploadEngine } from "./engine.ts";
import { BASE, errorResponse, FakeClock, FakeServer, FakeSocket } from "./fakes.ts";
import { MemoryKeyValueStore } from "./memory_store.ts";
import { waitFor, within } from "./testing.ts";
import type { EngineOptions, HttpRequest } from "./types.ts";

const jpeg = (size: number, name = "a.jpg") =>
  new File([new Uint8Array(size)], name, { type: "image/jpeg", lastModified: 7 });

/** An engine whose every socket attempt is refused (a network that lets no WebSocket through). */
function blocked(fakeClock = true, extra: Partial<EngineOptions> = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const socket = new FakeSocket();
  socket.refuse = true;
  socket.reconnection = false;
  const engine = new UploadEngine({
    endpoint: BASE,
    category: "personal",
    clientType: "web",
    http: server,
    store: new MemoryKeyValueStore(),
    connectSocket: () => (queueMicrotask(() => socket.connect()), socket),
    // The real clock where the test waits on the engine's (timer-throttled) notifications.
    ...fakeClock
      ? { now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }
      : {},
    chunkSize: 100,
    pollIntervalMs: 60_000,
    // The PATCHes here are held on purpose: no stall watchdog among the timers counted below.
    stallTimeoutMs: 0,
    ...extra,
  });
  return { clock, server, socket, engine, [Symbol.dispose]: () => engine.destroy() };
}

/**
 * Resolves on the first request `test` matches (bounded: on the old engine a command never
 * comes); `answer` may replace the server's reply.
 */
function requested(
  server: FakeServer,
  test: (r: HttpRequest) => boolean,
  answer?: () => ReturnType<NonNullable<FakeServer["intercept"]>>,
): Promise<HttpRequest> {
  const { promise, resolve } = Promise.withResolvers<HttpRequest>();
  const before = server.intercept;
  server.intercept = (r) => {
    if (!test(r)) return before?.(r);
    server.intercept = before;
    resolve(r);
    return answer?.() ?? before?.(r);
  };
  return within(promise, "a request");
}

const command = (server: FakeServer, fileId: string, action: string) => (r: HttpRequest) =>
  r.method === "POST" &&
  r.url === `${BASE}/api/sessions/${server.sessionId}/files/${fileId}/${action}`;

Deno.test("engine offline - socket down: pause, resume, cancel over HTTP; the ack merged, a refusal reported", async () => {
  using t = blocked(false);
  const { engine, server, socket } = t;
  const [a] = engine.addFiles([jpeg(300)]).added;
  const first = requested(server, (r) => r.method === "PATCH");
  server.hold = true;
  await engine.start();
  assert.equal(engine.snapshot.connection, "polling");
  const patch = await first;

  // A refused pause: paused here (the PATCH is aborted), and the row says why.
  const refused = requested(
    server,
    command(server, a!.id, "pause"),
    () => errorResponse(403, "INSUFFICIENT_PERMISSIONS"),
  );
  engine.pause(a!.id);
  const request = await refused;
  assert.equal(request.headers.Authorization, `Bearer ${server.token}`);
  assert.ok(patch.signal?.aborted);
  let s = await waitFor(engine, (s) => s.files[0]!.error !== null, "the refusal reported");
  assert.equal(s.files[0]!.status, "paused");
  assert.equal(s.files[0]!.error!.code, "INSUFFICIENT_PERMISSIONS");
  assert.equal(server.uploads.get(a!.id)!.status, "uploading", "the server was not paused");

  // Resume (over HTTP), then a pause the server takes: its ack (the snapshot) is merged.
  const held = requested(server, (r) => r.method === "PATCH");
  engine.resume(a!.id);
  await held;
  const sid = server.sessionId;
  assert.deepEqual(server.log.slice(-3), [
    `POST /api/sessions/${sid}/files/${a!.id}/resume`,
    `HEAD /api/uploads/${a!.id}`,
    `PATCH /api/uploads/${a!.id}`,
  ], "resumed on the server before the next PATCH");
  assert.equal(engine.snapshot.files[0]!.error, null);
  server.uploads.get(a!.id)!.offset = 200; // the server stored more than this device heard
  const paused = requested(server, command(server, a!.id, "pause"));
  engine.pause(a!.id);
  await paused;
  assert.equal(server.uploads.get(a!.id)!.status, "paused", "the server enforces the pause");
  s = await waitFor(engine, (s) => s.files[0]!.bytesConfirmed === 200, "the ack's snapshot merged");
  assert.equal(s.files[0]!.status, "paused");
  assert.equal(s.files[0]!.error, null);

  const cancelled = requested(server, command(server, a!.id, "cancel"));
  engine.cancel(a!.id);
  await cancelled;
  assert.equal(engine.snapshot.files[0]!.status, "cancelled");
  assert.deepEqual(socket.sent, [], "nothing went to the socket (it never connected)");
});

Deno.test("engine offline - polling redials the socket with backoff; once back, polling stops", async () => {
  using t = blocked();
  const { engine, server, socket, clock } = t;
  engine.addFiles([jpeg(300)]);
  server.hold = true;
  const patch = requested(server, (r) => r.method === "PATCH");
  await engine.start();
  await patch;
  assert.equal(engine.snapshot.connection, "polling");
  const redial = clock.pending().find((ms) => ms < 60_000);
  assert.ok(redial !== undefined && redial < 1000, `a redial within 1 s (${clock.pending()})`);
  assert.ok(clock.pending().includes(60_000), "and the next poll");

  socket.refuse = false;
  const synced = requested(server, (r) => r.method === "GET");
  clock.advance(1000);
  assert.equal(engine.snapshot.connection, "connected");
  await synced; // one read on connect (events may have been missed), then none
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.deepEqual(
    clock.pending().filter((ms) => ms > 1000),
    [],
    "no poll once the socket is back",
  );
  const polls = server.count("GET /api/sessions/");
  clock.advance(120_000);
  await Promise.resolve();
  assert.equal(server.count("GET /api/sessions/"), polls, "no GET while connected");

  engine.pause();
  assert.equal(socket.sent.at(-1)?.name, "upload-pause", "commands use the socket again");
  assert.equal(server.count("POST /api/sessions/"), 0);
});

Deno.test("engine offline - a wake-up (online, page visible) redials the socket at once while polling", async () => {
  let wake = () => {};
  using t = blocked(true, { wake: (listener) => ((wake = listener), () => {}) });
  const { engine, server, socket, clock } = t;
  engine.addFiles([jpeg(300)]);
  server.hold = true;
  const patch = requested(server, (r) => r.method === "PATCH");
  await engine.start();
  await patch;
  assert.equal(engine.snapshot.connection, "polling");
  // A few refused redials: the next one is now seconds away.
  for (let i = 0; i < 4; i++) {
    const dialled = socket.connects;
    while (socket.connects === dialled) clock.advance(100);
  }
  const dialled = socket.connects;
  const before = clock.now();
  socket.refuse = false;
  wake();
  assert.equal(clock.now(), before, "no time passed");
  assert.equal(socket.connects, dialled + 1, "redialled on the wake-up, not after the backoff");
  assert.equal(engine.snapshot.connection, "connected");
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const polls = server.count("GET /api/sessions/");
  clock.advance(120_000);
  await Promise.resolve();
  assert.equal(server.count("GET /api/sessions/"), polls, "polling stopped");
});
