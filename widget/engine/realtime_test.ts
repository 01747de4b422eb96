import assert from "node:assert/strict";
import { FakeClock, FakeSocket } from "./fakes.ts";
import { Realtime, type RealtimeOptions } from "./realtime.ts";
import type { ConnectionState } from "./types.ts";

function setup(socket: FakeSocket | null) {
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
  assert.deepEqual(clock.pending(), [2000]);
  clock.advance(2000);
  await settled();
  assert.equal(syncs(), 3, "polls every pollIntervalMs");

  socket.connect();
  await settled();
  assert.equal(rt.state, "connected");
  assert.deepEqual(clock.pending(), [], "polling stops");
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

Deno.test("realtime - commands: only while connected, ack data, timeout, settled by close", async () => {
  const socket = new FakeSocket();
  const { rt, clock } = setup(socket);
  assert.equal(await rt.command("upload-pause", { fileId: "f" }), undefined);
  assert.equal(socket.sent.length, 0, "not sent (a buffered pause would replay later)");

  socket.connect();
  socket.reply = (name) => ({ ok: true, data: { name } });
  assert.deepEqual(await rt.command("upload-pause", { fileId: "f" }), { name: "upload-pause" });
  socket.reply = () => ({ ok: false, error: { code: "FILE_NOT_FOUND" } });
  assert.equal(await rt.command("upload-resume", {}), undefined);

  socket.reply = undefined; // the server never answers
  const late = rt.command("upload-cancel", {});
  assert.ok(clock.pending().includes(5000));
  clock.advance(5000);
  assert.equal(await late, undefined);

  const pending = rt.command("upload-cancel", {});
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
