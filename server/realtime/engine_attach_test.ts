/**
 * Issue #9 (round 2): public WebSockets are served by the in-process engine.io server, with
 * no second, loopback WebSocket per watcher; the hop's limits hold on that path.
 */
import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import { upgradeAnswer } from "../../tests/support/ws_upgrade.ts";
import { DEFAULT_SOCKET_LIMITS } from "./socket_limits.ts";
import { Harness, nextEvents, sentinel, SESSION_A } from "./test_support.ts";

const onLinux = Deno.build.os === "linux";

/** Established TCP connections whose local port is `port` (/proc/net/tcp and tcp6). */
function establishedTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 01 is ESTABLISHED; the local address ends in ":<port in hex>".
      if (state === "01" && local?.endsWith(`:${hex}`)) count++;
    }
  }
  return count;
}

Deno.test({
  name: "in process: WebSocket watchers open no connection to the internal server",
  ignore: !onLinux,
  fn: async () => {
    await using h = await Harness.start();
    const watchers = await Promise.all(
      [1, 2, 3].map(() => h.watcher(SESSION_A, { transports: ["websocket"] })),
    );
    // They are served: a room event reaches every one.
    const heard = watchers.map((w) => nextEvents(w, "upload-started", 1));
    h.bus.publish(sentinel(SESSION_A));
    await within(Promise.all(heard), "the room event at every watcher");
    // Before, each public WebSocket had its twin on the internal server's port.
    assert.equal(establishedTo(h.realtime.internalPort), 0);
    assert.equal(h.realtime.io.engine.clientsCount, 3);
  },
});

Deno.test("in process: an upgrade engine.io refuses gets 400 INVALID_REQUEST and holds no slot", async () => {
  await using h = await Harness.start({ limits: { maxSocketsPerAddress: 1 } });
  // An unknown sid: before, the public socket was upgraded, then closed with 1011.
  for (let i = 0; i < 2; i++) {
    const answer = await upgradeAnswer(
      h.url,
      [],
      "/socket.io/?EIO=4&transport=websocket&sid=no-such-sid",
    );
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(answer, /INVALID_REQUEST/);
    assert.match(answer, /Unknown session id/);
  }
  // Neither refusal counted against the address's one socket.
  const watcher = await h.watcher(SESSION_A, { transports: ["websocket"] });
  assert.equal(watcher.connected, true);
});

Deno.test("in process: a string under 64 Ki characters but above 64 KiB in UTF-8 closes with 1009", async () => {
  await using h = await Harness.start();
  const ws = new WebSocket(`${h.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  await within(new Promise((resolve) => ws.onopen = resolve), "the websocket to open");
  const max = DEFAULT_SOCKET_LIMITS.maxMessageBytes;
  // 2 UTF-8 bytes per character: under the cap by length, above it by bytes.
  const message = `4${"é".repeat(max / 2 + 1)}`;
  assert.ok(message.length < max);
  ws.send(message);
  const event = await within(closed, "the close after a big message");
  assert.deepEqual([event.code, event.reason], [1009, "message too big"]);
});

Deno.test("in process: more than maxBufferedBytes received within a second closes with 1008", async () => {
  await using h = await Harness.start({ limits: { maxBufferedBytes: 64 * 1024 } });
  const ws = new WebSocket(
    `${
      h.url.replace("http", "ws")
    }/socket.io/?EIO=4&transport=websocket&sessionId=${SESSION_A}&clientType=web`,
  );
  const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  const connected = new Promise<void>((resolve) =>
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string" && e.data.startsWith("40")) resolve();
    })
  );
  await within(new Promise((resolve) => ws.onopen = resolve), "the websocket to open");
  ws.send(`40${JSON.stringify({ token: `good-${SESSION_A}` })}`);
  await within(connected, "the socket.io CONNECT answer");
  // Five events of 14 KiB: within the event rate; the fifth takes the total 6 KiB above
  // 64 KiB (the refill in the meantime is a few hundred bytes). It is the last one sent: a
  // frame after the close would make the runtime drop the connection, not answer the close.
  const event = `42["no-such-event","${"x".repeat(14 * 1024)}"]`;
  for (let i = 0; i < 5; i++) ws.send(event);
  const close = await within(closed, "the close of a flooding socket");
  assert.deepEqual([close.code, close.reason], [1008, "too much incoming data"]);
});
