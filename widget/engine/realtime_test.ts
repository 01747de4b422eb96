import assert from "node:assert/strict";
import { FakeClock, FakeSocket } from "./fakes.ts";
import { Realtime, type RealtimeOptions } from "./realtime.ts";
import type { ConnectionState } from "./types.ts";

function setup(socket: FakeSocket | null, extra: Partial<RealtimeOptions> = {}) {
  const clock = new FakeClock();
  const states: ConnectionState[] = [];
  const events: [string, unknown][] = [];
  let syncs = 0;
  const options: RealtimeOptions = {
    connect: socket ? () => socket : null,
    url: "http://x",
    sessionId: "s",
    token: "t",
    clientType: "mobile",
    pollIntervalMs: 2000,
    sync: () => (syncs++, Promise.resolve()),
    onEvent: (name, payload) => events.push([name, payload]),
    onState: (state) => states.push(state),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0.5,
    ...extra,
  };
  const rt = new Realtime(options);
  return { rt, clock, states, events, syncs: () => syncs };
}

/** Lets the sync promise's finally run (it schedules the next poll). */
const settled = () => Promise.resolve().then(() => {}).then(() => {});

Deno.test("realtime - connecting, connected (one sync), reconnecting, polling, connected again", async () => {
  const socket = new FakeSocket();
  const { rt, clock, states, syncs } = setup(socket);
  assert.equal(rt.state, "connecting");
  socket.connect();
  assert.equal(rt.state, "connected");
  await settled();
  assert.equal(syncs(), 1, "a sync on connect (events may have been missed)");
  assert.deepEqual(clock.pending(), [], "no polling while connected");

  socket.drop();
  socket.fireIo("reconnect_attempt", 1);
  assert.equal(rt.state, "reconnecting");
  socket.fireIo("reconnect_failed");
  assert.equal(rt.state, "polling");
  await settled();
  assert.equal(syncs(), 2);
  assert.deepEqual(clock.pending(), [500, 2000], "a redial (0.5 of 1 s) and the next poll");
  socket.refuse = true;
  clock.advance(2000);
  await settled();
  assert.equal(syncs(), 3, "polls every pollIntervalMs");
  assert.equal(socket.connects, 3, "the first connect, redials at 500 ms and 1500 ms (0.5 of 2 s)");

  socket.refuse = false;
  socket.connect();
  await settled();
  assert.equal(rt.state, "connected");
  assert.deepEqual(clock.pending(), [], "polling and redials stop");
  assert.deepEqual(states, ["connected", "reconnecting", "polling", "connected"]);
  rt.close();
  assert.ok(socket.disconnected);
});

Deno.test("realtime - no socket, a refused handshake, or a server disconnect mean polling", async () => {
  assert.equal(setup(null).rt.state, "polling");

  const refused = new FakeSocket();
  const a = setup(refused);
  refused.active = false;
  refused.fire("connect_error", new Error("denied"));
  assert.equal(a.rt.state, "polling");
  a.rt.close();

  const noRetry = new FakeSocket();
  const b = setup(noRetry);
  noRetry.reconnection = false;
  noRetry.fire("connect_error", new Error("ECONNREFUSED"));
  assert.equal(b.rt.state, "polling");
  b.rt.close();

  const retrying = new FakeSocket();
  const c = setup(retrying);
  retrying.fire("connect_error", new Error("ECONNREFUSED"));
  assert.equal(c.rt.state, "connecting", "socket.io-client retries by itself");
  c.rt.close();

  const kicked = new FakeSocket();
  const d = setup(kicked);
  kicked.connect();
  kicked.drop("io server disconnect");
  assert.equal(d.rt.state, "polling");
  await settled();
  d.rt.close();
  assert.deepEqual(d.clock.pending(), [], "close stops the polling");
});

Deno.test("realtime - room events are passed on", () => {
  const socket = new FakeSocket();
  const { rt, events } = setup(socket);
  socket.fire("upload-paused", { fileId: "f" });
  socket.fire("session-completed", { sessionId: "s" });
  socket.fire("not-a-room-event", {});
  assert.deepEqual(events.map(([n]) => n), ["upload-paused", "session-completed"]);
  rt.close();
});

Deno.test("realtime - commands: the socket while connected, acks, timeout, settled by close", async () => {
  const socket = new FakeSocket();
  const { rt, clock } = setup(socket);
  const p = { sessionId: "s", fileId: "f" };
  assert.equal(await rt.command("upload-pause", p), undefined, "no fallback: local only");
  assert.equal(socket.sent.length, 0, "not sent (a buffered pause would replay later)");

  socket.connect();
  socket.reply = (name) => ({ ok: true, data: { name } });
  assert.deepEqual(await rt.command("upload-pause", p), {
    ok: true,
    data: { name: "upload-pause" },
  });
  socket.reply = () => ({ ok: false, error: { code: "FILE_NOT_FOUND" } });
  assert.deepEqual(await rt.command("upload-resume", p), {
    ok: false,
    error: { code: "FILE_NOT_FOUND" },
  });

  socket.reply = undefined; // the server never answers
  const late = rt.command("upload-cancel", p);
  assert.ok(clock.pending().includes(5000));
  clock.advance(5000);
  assert.equal(await late, undefined);

  const pending = rt.command("upload-cancel", p);
  rt.close();
  assert.equal(await pending, undefined);
  assert.deepEqual(clock.pending(), []);
});

Deno.test("realtime - ready() waits for the first connection, bounded", async () => {
  const socket = new FakeSocket();
  const a = setup(socket);
  const ready = a.rt.ready(3000);
  socket.connect();
  await ready;
  a.rt.close();

  const b = setup(new FakeSocket());
  const bounded = b.rt.ready(3000);
  b.clock.advance(3000);
  await bounded;
  assert.equal(b.rt.state, "connecting");
  b.rt.close();
});

Deno.test("realtime - while polling, redials with full-jitter backoff to 30 s; the socket back ends polling", async () => {
  const socket = new FakeSocket();
  let handshake: (() => number) | undefined;
  const { rt, clock, syncs } = setup(socket, {
    random: () => 0.5,
    connect: (o) => (handshake = o.reconnectAttempts, socket),
  });
  const attempts = () => handshake!();
  socket.connect();
  socket.drop();
  for (let n = 1; n <= 3; n++) socket.fireIo("reconnect_attempt", n);
  assert.equal(attempts(), 3, "socket.io's own attempts count for the handshake");
  socket.fireIo("reconnect_failed");
  assert.equal(rt.state, "polling");
  assert.equal(socket.reconnection, false, "socket.io's reconnection off: the redials are ours");

  // The waits before each redial: random() (0.5) times 1, 2, 4 ... s, capped at 30 s.
  socket.refuse = true;
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    const before = clock.now();
    const dialled = socket.connects;
    while (socket.connects === dialled) clock.advance(1);
    waits.push(clock.now() - before);
  }
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
  assert.equal(rt.state, "polling", "a refused redial keeps polling");
  assert.equal(attempts(), 10, "3 of socket.io and 7 redials, read when each handshake starts");

  await settled();
  const polled = syncs();
  socket.refuse = false;
  clock.advance(15_000);
  assert.equal(socket.connects, 9, "the first connect, 7 refused redials, this one");
  assert.equal(rt.state, "connected");
  assert.equal(attempts(), 0, "connected: the count starts again");
  assert.equal(socket.reconnection, true, "socket.io reconnects by itself after the next drop");
  await settled();
  assert.equal(syncs(), polled + 1, "one sync on connect");
  assert.deepEqual(clock.pending(), [], "no poll, no redial once connected");
  rt.close();
});

Deno.test("realtime - commands go to the fallback whenever the socket is not connected", async () => {
  const socket = new FakeSocket();
  const sent: string[] = [];
  const { rt, clock } = setup(socket, {
    fallback: (name) => {
      sent.push(name);
      return Promise.resolve({ ok: false, error: { code: "FILE_NOT_FOUND", message: "no" } });
    },
  });
  const p = { sessionId: "s", fileId: "f" };
  assert.deepEqual(await rt.command("upload-pause", p), {
    ok: false,
    error: { code: "FILE_NOT_FOUND", message: "no" },
  }, "connecting: HTTP");
  socket.connect();
  await rt.command("upload-resume", p);
  assert.deepEqual(sent, ["upload-pause"], "connected: the socket");
  assert.equal(socket.sent.at(-1)?.name, "upload-resume");
  socket.drop();
  await rt.command("upload-cancel", p);
  assert.deepEqual(sent, ["upload-pause", "upload-cancel"], "reconnecting: HTTP");

  const never = setup(new FakeSocket(), { fallback: () => new Promise(() => {}) });
  const late = never.rt.command("upload-pause", p);
  never.clock.advance(5000);
  assert.equal(await late, undefined, "a fallback that never answers times out like an ack");
  never.rt.close();
  rt.close();
  assert.deepEqual(clock.pending(), []);
});

Deno.test("realtime - wake() while polling redials now; otherwise it does nothing", () => {
  const socket = new FakeSocket();
  const { rt, clock } = setup(socket);
  rt.wake();
  assert.equal(socket.connects, 0, "connecting: socket.io is at it");
  socket.connect();
  rt.wake();
  assert.equal(socket.connects, 1, "connected: nothing to do");
  socket.drop("io server disconnect");
  assert.equal(rt.state, "polling");
  socket.refuse = true;
  rt.wake();
  assert.equal(socket.connects, 2, "polling: a redial at once");
  assert.equal(clock.pending().filter((ms) => ms < 2000).length, 1, "one redial planned, not two");
  socket.refuse = false;
  rt.wake();
  assert.equal(rt.state, "connected");
  rt.close();
});
