import assert from "node:assert/strict";
import type { Ack, ProgressUpdateEvent, RoomEvent, SocketError } from "../../protocol/events.ts";
import type { ErrorPayload } from "../../protocol/errors.ts";
import {
  type Client,
  connectError,
  Harness,
  nextEvents,
  once,
  progressEvent,
  record,
  sentinel,
  SESSION_A,
  SESSION_B,
} from "./test_support.ts";

const TRANSPORTS = [
  { name: "polling+upgrade", transports: ["polling", "websocket"] as ("polling" | "websocket")[] },
  { name: "websocket", transports: ["websocket"] as ("polling" | "websocket")[] },
];

// deno-lint-ignore no-explicit-any
type AnyEmit = (event: string, ...args: any[]) => void;

/** Emits with an acknowledgement, bypassing the typed maps to send what a bad client would. */
function request(client: Client, event: string, ...args: unknown[]): Promise<Ack<unknown>> {
  return new Promise((resolve) => (client.emit as AnyEmit)(event, ...args, resolve));
}

function assertError(ack: Ack<unknown>, code: ErrorPayload["code"]): ErrorPayload {
  assert.equal(ack.ok, false, `expected ${code}, got ${JSON.stringify(ack)}`);
  if (ack.ok) throw new Error("unreachable");
  assert.equal(ack.error.code, code);
  return ack.error;
}

for (const { name, transports } of TRANSPORTS) {
  Deno.test(`[${name}] wrong or missing token is refused with INSUFFICIENT_PERMISSIONS`, async () => {
    await using h = await Harness.start();
    const good = await h.watcher(SESSION_A, { transports });
    const goodSeen = record(good);
    const refused = [
      h.connect(SESSION_A, { transports, token: "good-" + SESSION_B }),
      h.connect(SESSION_A, { transports, token: null }),
    ];
    const refusedSeen = refused.map(record);
    for (const error of await Promise.all(refused.map((client) => connectError(client)))) {
      assert.deepEqual(error.data, {
        code: "INSUFFICIENT_PERMISSIONS",
        message: "Missing or invalid session token",
      });
    }
    const sockets = await h.realtime.io.in(`session:${SESSION_A}`).fetchSockets();
    assert.equal(sockets.length, 1, "only the authorized socket is in the room");

    const arrived = nextEvents(good, "upload-started", 1);
    h.bus.publish(sentinel(SESSION_A));
    await arrived;
    assert.equal(goodSeen.length, 1);
    assert.deepEqual(refusedSeen, [[], []]);
  });

  Deno.test(`[${name}] two watchers of a room get the same events in the same order`, async () => {
    await using h = await Harness.start();
    const first = await h.watcher(SESSION_A, { transports });
    const second = await h.watcher(SESSION_A, { transports: ["websocket"] });
    const other = await h.watcher(SESSION_B, { transports });
    const [seen1, seen2, seenOther] = [first, second, other].map(record);

    const published: RoomEvent[] = [];
    for (let i = 0; i < 20; i++) {
      published.push(i % 2 === 0 ? progressEvent(SESSION_A) : sentinel(SESSION_A, `f${i}`));
    }
    published.push({
      name: "session-completed",
      payload: {
        sessionId: SESSION_A,
        summary: {
          totalFiles: 1,
          completedFiles: 1,
          failedFiles: 0,
          cancelledFiles: 0,
          totalSize: 1,
          uploadedSize: 1,
          averageSpeed: 1,
          totalTime: 1,
        },
        endTime: new Date(0).toISOString(),
        uploadPaths: ["/x"],
      },
    });
    const done = [first, second].map((c) => nextEvents(c, "session-completed", 1));
    const otherDone = nextEvents(other, "upload-started", 1);
    for (const event of published) h.bus.publish(event);
    h.bus.publish(sentinel(SESSION_B));
    await Promise.all([...done, otherDone]);

    const expected = published.map((e) => ({ name: e.name, payload: e.payload }));
    assert.deepEqual(seen1, expected);
    assert.deepEqual(seen2, expected);
    assert.deepEqual(seenOther, [{ name: "upload-started", payload: sentinel(SESSION_B).payload }]);
  });
}

Deno.test("handshake: a malformed session id or client type is refused", async () => {
  await using h = await Harness.start();
  const badId = h.connect("not-a-uuid", { token: "good-not-a-uuid" });
  assert.equal(((await connectError(badId)).data as ErrorPayload).code, "INVALID_SESSION");
  const badType = h.connect(SESSION_A, { clientType: "desktop" });
  const error = (await connectError(badType)).data as ErrorPayload;
  assert.equal(error.code, "INVALID_REQUEST");
  assert.match(error.details ?? "", /clientType/);
});

Deno.test("connect: the socket hears connection-status connected", async () => {
  await using h = await Harness.start();
  const client = h.connect(SESSION_A);
  const status = await once(client, "connection-status");
  assert.equal(status.status, "connected");
});

Deno.test("join-session and leave-session", async () => {
  await using h = await Harness.start();
  const client = await h.watcher(SESSION_A);
  const seen = record(client);

  const again = await request(client, "join-session", SESSION_A);
  assert.equal(again.ok, true, "joining the handshake session again is fine");
  if (again.ok) assert.equal((again.data as ProgressUpdateEvent).sessionId, SESSION_A);

  const refusedError = once(client, "error");
  assertError(await request(client, "join-session", SESSION_B), "INSUFFICIENT_PERMISSIONS");
  assert.equal((await refusedError).event, "join-session");
  assertError(
    await request(client, "join-session", { sessionId: SESSION_B, token: "wrong" }),
    "INSUFFICIENT_PERMISSIONS",
  );

  const joined = await request(client, "join-session", {
    sessionId: SESSION_B,
    token: `good-${SESSION_B}`,
  });
  assert.equal(joined.ok, true);
  if (joined.ok) assert.equal((joined.data as ProgressUpdateEvent).sessionId, SESSION_B);
  // Authorized by the join: commands for B are accepted now.
  assert.equal((await request(client, "upload-resume", { sessionId: SESSION_B })).ok, true);

  assert.deepEqual(await request(client, "leave-session", SESSION_A), {
    ok: true,
    data: { sessionId: SESSION_A },
  });
  let arrived = nextEvents(client, "upload-started", 1);
  h.bus.publish(sentinel(SESSION_A, "after-leave"));
  h.bus.publish(sentinel(SESSION_B, "b"));
  await arrived;
  assert.deepEqual(seen.map((e) => (e.payload as { fileId: string }).fileId), ["b"]);

  // Leaving keeps the authorization: the session id alone rejoins.
  assert.equal((await request(client, "join-session", SESSION_A)).ok, true);
  arrived = nextEvents(client, "upload-started", 1);
  h.bus.publish(sentinel(SESSION_A, "a"));
  await arrived;
  assert.deepEqual(seen.map((e) => (e.payload as { fileId: string }).fileId), ["b", "a"]);
});

for (const transport of ["polling", "websocket"] as const) {
  Deno.test(`[${transport}] commands: answered by ack, validated, errors also as \`error\` events`, async () => {
    await using h = await Harness.start();
    const client = await h.watcher(SESSION_A, { transports: [transport] });
    const errors: SocketError[] = [];
    client.on("error", (e) => errors.push(e));

    const started = await request(client, "upload-start", {
      sessionId: SESSION_A,
      fileIds: ["f1"],
      category: "personal",
      extra: "dropped",
    });
    assert.equal(started.ok, true);
    assert.deepEqual(h.commands.calls, [{
      name: "start",
      command: { sessionId: SESSION_A, fileIds: ["f1"], category: "personal" },
    }]);
    assert.equal(
      (await request(client, "upload-pause", { sessionId: SESSION_A, fileId: "f1" })).ok,
      true,
    );
    assert.equal((await request(client, "upload-resume", { sessionId: SESSION_A })).ok, true);
    assert.equal(
      (await request(client, "upload-cancel", { sessionId: SESSION_A, reason: "user" })).ok,
      true,
    );

    const invalid = [
      ["upload-start", { sessionId: SESSION_A, fileIds: "f1", category: "personal" }],
      ["upload-start", { sessionId: SESSION_A, fileIds: [], category: "other" }],
      ["upload-progress", { sessionId: SESSION_A }],
      ["upload-progress", { sessionId: SESSION_A, fileId: "f1", progress: 101 }],
      ["upload-pause", "not an object"],
      ["upload-resume", { sessionId: 42 }],
      ["upload-cancel", null],
      ["join-session", { token: "x" }],
      ["leave-session", 7],
    ] as const;
    for (const [event, payload] of invalid) {
      const error = assertError(await request(client, event, payload), "INVALID_REQUEST");
      assert.equal(typeof error.details, "string", event);
    }
    // Without any payload (the ack is the only argument).
    assertError(await request(client, "upload-resume"), "INVALID_REQUEST");

    assertError(
      await request(client, "upload-pause", { sessionId: SESSION_B }),
      "INSUFFICIENT_PERMISSIONS",
    );
    assertError(
      await request(client, "upload-pause", { sessionId: SESSION_A, fileId: "missing" }),
      "FILE_NOT_FOUND",
    );
    const internal = assertError(
      await request(client, "upload-pause", { sessionId: SESSION_A, fileId: "boom" }),
      "INTERNAL_ERROR",
    );
    assert.deepEqual(internal, { code: "INTERNAL_ERROR", message: "Internal server error" });

    // Acks are optional: an ack-less failing command still produces the `error` event.
    const lastError = once(client, "error");
    (client.emit as AnyEmit)("upload-cancel", { sessionId: SESSION_B });
    const spontaneous = await lastError;
    assert.equal(spontaneous.event, "upload-cancel");
    assert.equal(spontaneous.error.code, "INSUFFICIENT_PERMISSIONS");
    assert.ok(!Number.isNaN(Date.parse(spontaneous.timestamp)));

    assert.deepEqual(
      errors.map((e) => [e.event, e.error.code]),
      [
        ...invalid.map(([event]) => [event, "INVALID_REQUEST"]),
        ["upload-resume", "INVALID_REQUEST"],
        ["upload-pause", "INSUFFICIENT_PERMISSIONS"],
        ["upload-pause", "FILE_NOT_FOUND"],
        ["upload-pause", "INTERNAL_ERROR"],
        ["upload-cancel", "INSUFFICIENT_PERMISSIONS"],
      ],
    );
  });
}

Deno.test("commands: a 5xx AppError is our fault and logged; a 4xx is not", async () => {
  await using h = await Harness.start();
  const client = await h.watcher(SESSION_A);
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  try {
    assertError(
      await request(client, "upload-pause", { sessionId: SESSION_A, fileId: "missing" }),
      "FILE_NOT_FOUND",
    );
    assert.deepEqual(logged, [], "a 4xx logs nothing");
    assertError(
      await request(client, "upload-pause", { sessionId: SESSION_A, fileId: "disk-full" }),
      "STORAGE_FULL",
    );
  } finally {
    console.error = original;
  }
  assert.equal(logged.length, 1, "the 507 was logged once");
  assert.match(logged[0]!, /upload-pause/);
});

Deno.test("upload-progress requestUpdate: a fresh snapshot, to this socket only", async () => {
  await using h = await Harness.start();
  const asker = await h.watcher(SESSION_A);
  const bystander = await h.watcher(SESSION_A, { transports: ["websocket"] });
  const bystanderSeen = record(bystander);

  const pushed = once(asker, "upload-progress");
  const ack = await request(asker, "upload-progress", {
    sessionId: SESSION_A,
    fileId: "file-1",
    requestUpdate: true,
  });
  assert.equal(ack.ok, true);
  if (!ack.ok) return;
  const snapshot = ack.data as ProgressUpdateEvent;
  assert.equal(snapshot.sessionId, SESSION_A);
  assert.equal(snapshot.files?.length, 1);
  assert.deepEqual(await pushed, snapshot);

  const second = await request(asker, "upload-progress", {
    sessionId: SESSION_A,
    fileId: "file-1",
    requestUpdate: true,
  });
  assert.ok(
    second.ok && (second.data as ProgressUpdateEvent).message !== snapshot.message,
    "fresh each time",
  );

  const arrived = nextEvents(bystander, "upload-started", 1);
  h.bus.publish(sentinel(SESSION_A));
  await arrived;
  assert.deepEqual(bystanderSeen.map((e) => e.name), ["upload-started"]);
});

Deno.test("bridge: throttled progress never drops a status change", async () => {
  const t = 1_000_000; // frozen: only status changes, 100 % and other files pass
  await using h = await Harness.start({ now: () => t });
  const client = await h.watcher(SESSION_A, { transports: ["websocket"] });
  const seen = record(client);
  const steps = [
    [10, "uploading", true],
    [10.5, "uploading", false],
    [15, "uploading", false],
    [15, "paused", true],
    [15, "paused", false],
    [16, "uploading", true],
    [40, "uploading", false],
    [100, "uploading", true],
    [100, "completed", true],
    [0, "uploading", true], // a new attempt after the terminal status starts over
    [0, "failed", true],
  ] as const;
  const arrived = nextEvents(client, "upload-started", 1);
  for (const [progress, status] of steps) {
    h.bus.publish(progressEvent(SESSION_A, { id: "f1", progress, status }));
  }
  h.bus.publish(progressEvent(SESSION_A)); // no currentFile: never throttled
  h.bus.publish(sentinel(SESSION_A));
  await arrived;
  const files = seen
    .filter((e) => e.name === "upload-progress")
    .map((e) => (e.payload as ProgressUpdateEvent).currentFile)
    .map((f) => (f === undefined ? null : [f.progress, f.status]));
  assert.deepEqual(files, [
    ...steps.filter(([, , sent]) => sent).map(([progress, status]) => [progress, status]),
    null,
  ]);
});

Deno.test("rate limit: events beyond the bucket get RATE_LIMIT_EXCEEDED", async () => {
  let t = 0;
  await using h = await Harness.start({ now: () => t, rateLimit: { events: 3, perMs: 1000 } });
  const client = await h.watcher(SESSION_A, { transports: ["websocket"] });
  for (let i = 0; i < 3; i++) {
    assert.equal((await request(client, "upload-resume", { sessionId: SESSION_A })).ok, true);
  }
  const error = once(client, "error");
  assertError(
    await request(client, "upload-resume", { sessionId: SESSION_A }),
    "RATE_LIMIT_EXCEEDED",
  );
  assert.equal((await error).error.code, "RATE_LIMIT_EXCEEDED");
  assertError(await request(client, "no-such-event"), "RATE_LIMIT_EXCEEDED");
  assert.equal(h.commands.calls.length, 3, "refused events never reach the service");

  // Another socket has its own bucket; time refills this one.
  const other = await h.watcher(SESSION_A, { transports: ["websocket"] });
  assert.equal((await request(other, "upload-resume", { sessionId: SESSION_A })).ok, true);
  t += 334;
  assert.equal((await request(client, "upload-resume", { sessionId: SESSION_A })).ok, true);
});

Deno.test("rate limit: handshakes are limited per client address", async () => {
  await using h = await Harness.start({ now: () => 0, rateLimit: { events: 2, perMs: 1000 } });
  await h.watcher(SESSION_A, { transports: ["websocket"] });
  await h.watcher(SESSION_A, { transports: ["websocket"] });
  const third = h.connect(SESSION_A, { transports: ["websocket"] });
  assert.equal(((await connectError(third)).data as ErrorPayload).code, "RATE_LIMIT_EXCEEDED");
});
