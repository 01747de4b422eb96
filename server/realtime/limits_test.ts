/**
 * Issue #7 items 5 and 9: the public socket's limits (message size, unsent bytes, sockets
 * per address, event rate, long-polling bodies) and the internal server bound to its hop.
 */
import { upgradeAnswer } from "../../tests/support/ws_upgrade.ts";
import assert from "node:assert/strict";
import { io as connectClient } from "socket.io-client";
import { within } from "../../tests/support/deadline.ts";
import { startTestServer } from "../../tests/support/server.ts";
import { createSocketHop } from "./hop.ts";
import { HOP_SECRET_HEADER } from "./inner_guard.ts";
import { DEFAULT_SOCKET_LIMITS } from "./socket_limits.ts";
import {
  ALLOWED_ORIGIN,
  EVIL_ORIGIN,
  Harness,
  nextEvents,
  sentinel,
  SESSION_A,
} from "./test_support.ts";

const WS_PATH = "/socket.io/?EIO=4&transport=websocket";

/** A raw WebSocket to the public hop; `closed` resolves with the close event. */
async function rawSocket(
  url: string,
  query = "",
): Promise<{ ws: WebSocket; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(`${url.replace("http", "ws")}${WS_PATH}${query}`);
  ws.binaryType = "arraybuffer";
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  await within(
    new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", () => reject(new Error("websocket refused")));
    }),
    "the websocket to open",
  );
  return { ws, closed };
}

/** Logs a raw socket into SESSION_A with engine.io/socket.io packets (`40{auth}` → `40{sid}`). */
async function rawLogin(url: string) {
  const socket = await rawSocket(url, `&sessionId=${SESSION_A}&clientType=web`);
  const connected = new Promise<void>((resolve) =>
    socket.ws.addEventListener("message", (e) => {
      if (typeof e.data === "string" && e.data.startsWith("40")) resolve();
    })
  );
  socket.ws.send(`40${JSON.stringify({ token: `good-${SESSION_A}` })}`);
  await within(connected, "the socket.io CONNECT answer");
  return socket;
}

/** The status line and headers of a raw upgrade request (WebSocket clients hide refusals). */
function rawUpgrade(port: number, headers: string[] = []): Promise<string> {
  return upgradeAnswer(`http://127.0.0.1:${port}`, headers, WS_PATH);
}

Deno.test("hop: a message above maxHttpBufferSize closes the socket with 1009 and never reaches the internal server", async () => {
  const seen: number[] = [];
  const inner = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => {
      seen.push(typeof e.data === "string" ? e.data.length : (e.data as ArrayBuffer).byteLength);
      socket.send("echo");
    };
    return response;
  });
  const shutdown = new AbortController();
  const hop = createSocketHop({
    internalPort: inner.addr.port,
    secret: "s",
    isOriginAllowed: () => true,
    signal: shutdown.signal,
  });
  const pub = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, hop);
  try {
    const url = `http://127.0.0.1:${pub.addr.port}`;
    const max = DEFAULT_SOCKET_LIMITS.maxMessageBytes;
    for (const big of [new Uint8Array(max + 1), "x".repeat(max + 1)]) {
      const { ws, closed } = await rawSocket(url);
      const echoed = new Promise((resolve) => ws.onmessage = resolve);
      ws.send("small");
      await within(echoed, "the echo of a small message");
      ws.send(big);
      const event = await within(closed, "the close after a big message");
      assert.deepEqual([event.code, event.reason], [1009, "message too big"]);
    }
    assert.deepEqual(seen, [5, 5], "only the small messages were forwarded");
  } finally {
    shutdown.abort();
    await pub.shutdown();
    await inner.shutdown();
  }
});

Deno.test("hop: a socket closed for size leaves the other watchers served", async () => {
  await using h = await Harness.start();
  const watcher = await h.watcher(SESSION_A, { transports: ["websocket"] });
  const { ws, closed } = await rawLogin(h.url);
  ws.send(`42["upload-progress",${JSON.stringify({ pad: "x".repeat(200_000) })}]`);
  assert.equal((await within(closed, "the oversized socket's close")).code, 1009);
  const arrived = nextEvents(watcher, "upload-started", 1);
  h.bus.publish(sentinel(SESSION_A));
  await arrived;
});

Deno.test("hop: open WebSockets per client address are capped (429 RATE_LIMIT_EXCEEDED)", async () => {
  await using h = await Harness.start({ limits: { maxSocketsPerAddress: 2 } });
  const a = await rawSocket(h.url);
  const b = await rawSocket(h.url);
  const refused = await rawUpgrade(h.server.addr.port);
  assert.match(refused, /^HTTP\/1\.1 429/);
  assert.match(refused, /RATE_LIMIT_EXCEEDED/);
  a.ws.close();
  await a.closed;
  // The count follows the close: a slot is free again.
  const c = await rawSocket(h.url);
  for (const s of [b, c]) {
    s.ws.close();
    await s.closed;
  }
});

Deno.test("rate limit: a socket that keeps sending past its rate is closed (1008), not answered", async () => {
  await using h = await Harness.start({ now: () => 0, rateLimit: { events: 3, perMs: 1000 } });
  const { ws, closed } = await rawLogin(h.url);
  const errors: string[] = [];
  ws.addEventListener("message", (e) => {
    if (typeof e.data === "string" && e.data.startsWith('42["error"')) errors.push(e.data);
  });
  // 3 pass, 3 are answered RATE_LIMIT_EXCEEDED, the next ends the socket; the rest of the
  // flood is never read.
  for (let i = 0; i < 200; i++) ws.send(`42["no-such-event",${i}]`);
  const event = await within(closed, "the close of a flooding socket");
  assert.deepEqual([event.code, event.reason], [1008, "event rate exceeded"]);
  // Refusals emitted just before the close may not be flushed; never more than a bucket's.
  assert.ok(errors.length >= 1 && errors.length <= 3, `${errors.length} refusals answered`);
  assert.match(errors[0]!, /RATE_LIMIT_EXCEEDED/);
});

Deno.test("hop: a long-polling body above the cap gets 413 MESSAGE_TOO_LARGE while it streams", async () => {
  await using h = await Harness.start();
  const handshake = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling`);
  const { sid } = JSON.parse((await handshake.text()).slice(1));

  // Chunked (no Content-Length) over raw TCP: the answer must come while the body is still
  // being sent, i.e. from a cap that counts as it reads.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.server.addr.port });
  const encoder = new TextEncoder();
  await conn.write(encoder.encode(
    `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\n` +
      `Host: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`,
  ));
  let answer = "";
  const answered = (async () => {
    const buf = new Uint8Array(4096);
    while (!answer.includes("}")) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      answer += new TextDecoder().decode(buf.subarray(0, n));
    }
  })();
  const chunk = encoder.encode(`4001\r\n4${"x".repeat(0x4000)}\r\n`);
  const limit = 1000; // 16 MiB: far beyond the cap
  let sent = 0;
  let done = false;
  answered.then(() => done = true);
  while (!done && sent < limit) {
    try {
      await conn.write(chunk);
    } catch {
      break; // the server closed the connection after answering
    }
    sent += 1;
  }
  await within(answered, "the 413 answer");
  conn.close();
  assert.match(answer, /^HTTP\/1\.1 413/);
  assert.match(answer, /MESSAGE_TOO_LARGE/);
  assert.ok(sent < limit, `answered while the body was still streaming (${sent} chunks sent)`);

  const declared = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    method: "POST",
    body: "4" + "x".repeat(DEFAULT_SOCKET_LIMITS.maxMessageBytes),
  });
  assert.equal(declared.status, 413);
  assert.equal((await declared.json()).error.code, "MESSAGE_TOO_LARGE");
});

Deno.test("inner server: refuses everyone but the hop, whatever the origin", async () => {
  await using h = await Harness.start();
  const inner = `http://127.0.0.1:${h.realtime.internalPort}`;
  const attempts: Record<string, string>[] = [{}, { origin: EVIL_ORIGIN }, {
    [HOP_SECRET_HEADER]: "guess",
  }];
  for (const headers of attempts) {
    const res = await fetch(`${inner}/socket.io/?EIO=4&transport=polling`, { headers });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, "INSUFFICIENT_PERMISSIONS");
  }
  assert.match(await rawUpgrade(h.realtime.internalPort), /^HTTP\/1\.1 403/);

  for (const transports of [["polling"], ["websocket"]] as ("polling" | "websocket")[][]) {
    const client = connectClient(inner, {
      forceNew: true,
      reconnection: false,
      transports,
      query: { sessionId: SESSION_A, clientType: "web" },
      auth: { token: `good-${SESSION_A}` },
      extraHeaders: { origin: EVIL_ORIGIN, "x-forwarded-for": "6.6.6.6" },
    });
    h.clients.add(client);
    const error = await within(
      new Promise<Error>((resolve, reject) => {
        client.once("connect_error", resolve);
        client.once("connect", () => reject(new Error("the inner server let a client in")));
      }),
      "the direct connection to be refused",
    );
    assert.ok(error instanceof Error);
  }
  assert.equal(h.realtime.io.engine.clientsCount, 0, "nothing got past the guard");

  // Through the public port the same client works.
  const ok = await h.watcher(SESSION_A, { extraHeaders: { origin: ALLOWED_ORIGIN } });
  assert.equal(ok.connected, true);
  const [socket] = await h.realtime.io.fetchSockets();
  assert.equal(socket?.handshake.headers[HOP_SECRET_HEADER], undefined, "the secret is not kept");
});

/** A masked client text frame (RFC 6455 §5.2) for a payload under 64 KiB. */
function clientTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const extended = payload.length > 125;
  const head = extended ? [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff] : [
    0x81,
    0x80 | payload.length,
  ];
  const frame = new Uint8Array(head.length + 4 + payload.length);
  frame.set(head);
  frame.set(mask, head.length);
  for (let i = 0; i < payload.length; i++) {
    frame[head.length + 4 + i] = payload[i]! ^ mask[i % 4]!;
  }
  return frame;
}

Deno.test("hop: a peer that stops reading is closed once its unsent bytes pass the bound", async () => {
  await using h = await Harness.start({ limits: { maxBufferedBytes: 64 * 1024 } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.server.addr.port });
  try {
    const upgrade = await rawRequest(conn, [
      `GET ${WS_PATH}&sessionId=${SESSION_A}&clientType=web HTTP/1.1`,
      `Host: 127.0.0.1`,
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ]);
    assert.match(upgrade, /^HTTP\/1\.1 101/);
    const joined = new Promise<void>((resolve) =>
      h.realtime.io.once("connection", (socket) => {
        socket.once("disconnect", () => gone.resolve());
        resolve();
      })
    );
    const gone = Promise.withResolvers<void>();
    await conn.write(clientTextFrame(`40${JSON.stringify({ token: `good-${SESSION_A}` })}`));
    await within(joined, "the raw socket to join");

    // From here the client reads nothing: the room's events pile up in the hop.
    let ended = false;
    gone.promise.then(() => ended = true);
    const big = { ...sentinel(SESSION_A) };
    big.payload = { ...big.payload, fileName: "x".repeat(16 * 1024) } as typeof big.payload;
    for (let i = 0; i < 4000 && !ended; i++) {
      h.bus.publish(big);
      // Lets the frames travel (a yield, not a wait for time).
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await within(gone.promise, "the slow peer's socket to be closed");
  } finally {
    conn.close();
  }
});

/** Writes a request head and reads the response head. */
async function rawRequest(conn: Deno.Conn, lines: string[]): Promise<string> {
  await conn.write(new TextEncoder().encode([...lines, "", ""].join("\r\n")));
  let text = "";
  const buf = new Uint8Array(1);
  // Byte by byte so nothing after the head (the first frames) is consumed here.
  while (!text.endsWith("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += String.fromCharCode(buf[0]!);
  }
  return text;
}

/** A masked binary frame header (payload length in 64 bits) with an all-zero mask. */
function binaryFrameHead(length: number, opcode: number, fin: boolean): Uint8Array {
  const head = new Uint8Array(14);
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = 0x80 | 127;
  new DataView(head.buffer).setBigUint64(2, BigInt(length));
  return head; // bytes 10-13: the mask, zero, so the payload goes as it is
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

async function upgradedRaw(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = await rawRequest(conn, [
    `GET ${WS_PATH} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
  ]);
  assert.match(head, /^HTTP\/1\.1 101/);
  return conn;
}

/** Reads until the server's close frame (its code) or the end of the connection (null). */
async function closeCodeOf(conn: Deno.Conn): Promise<number | null> {
  const buf = new Uint8Array(64 * 1024);
  let data = new Uint8Array(0);
  while (true) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return null;
    const next = new Uint8Array(data.length + n);
    next.set(data);
    next.set(buf.subarray(0, n), data.length);
    data = next;
    // Server frames are unmasked; skip any before the close (opcode 8).
    let at = 0;
    while (at + 2 <= data.length) {
      const len7 = data[at + 1]! & 0x7f;
      const headLength = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      if (at + headLength > data.length) break;
      const length = len7 === 126
        ? (data[at + 2]! << 8) | data[at + 3]!
        : len7 === 127
        ? Number(new DataView(data.buffer, at + 2, 8).getBigUint64(0))
        : len7;
      if (at + headLength + length > data.length) break;
      if ((data[at]! & 0x0f) === 8) {
        return (data[at + headLength]! << 8) | data[at + headLength + 1]!;
      }
      at += headLength + length;
    }
  }
}

Deno.test("runtime limit (denoland/deno#15809): Deno caps one frame at 64 MiB but not a fragmented message; the hop closes it after assembly", async () => {
  await using h = await Harness.start();
  const MiB = 1024 * 1024;

  // One frame declaring 64 MiB + 1: refused by the runtime on its header, before any payload.
  const single = await upgradedRaw(h.server.addr.port);
  try {
    await writeAll(single, binaryFrameHead(64 * MiB + 1, 2, true));
    assert.equal(await within(closeCodeOf(single), "the runtime's refusal"), null);
  } finally {
    single.close();
  }

  // 70 MB in five fragments of 14 MB: each frame is under the runtime's cap, the message is
  // not, and the runtime assembles it whole before the hop can look at it. The hop then
  // closes with 1009; it cannot refuse earlier (no size option on Deno.upgradeWebSocket).
  const fragmented = await upgradedRaw(h.server.addr.port);
  try {
    const fragment = new Uint8Array(14_000_000);
    const closed = closeCodeOf(fragmented);
    for (let i = 0; i < 5; i++) {
      await writeAll(fragmented, binaryFrameHead(fragment.length, i === 0 ? 2 : 0, i === 4));
      await writeAll(fragmented, fragment);
    }
    assert.equal(await within(closed, "the hop's close after assembly"), 1009);
  } finally {
    fragmented.close();
  }
});

Deno.test("server: H5_MAX_SOCKETS_PER_IP caps the real server's open WebSockets per address", async () => {
  await using server = await startTestServer({ env: { H5_MAX_SOCKETS_PER_IP: "1" } });
  const first = await rawSocket(server.url);
  const refused = await rawUpgrade(Number(new URL(server.url).port));
  assert.match(refused, /^HTTP\/1\.1 429/);
  first.ws.close();
  await first.closed;
});

Deno.test("rate limit: refusals count per refill time, so a flood that earns a token now and then still ends (1008)", async () => {
  let t = 0;
  await using h = await Harness.start({ now: () => t, rateLimit: { events: 3, perMs: 1000 } });
  const client = await h.watcher(SESSION_A, { transports: ["websocket"] });
  const closed = new Promise<string>((resolve) => client.once("disconnect", resolve));
  type Answer = { ok: boolean; error?: { code: string } };
  const ask = () =>
    Promise.race([
      // Pending acks fail when the socket goes: that is the close, seen below.
      (client.emitWithAck("upload-progress", { sessionId: SESSION_A }) as Promise<Answer>)
        .catch(() => null),
      closed.then(() => null),
    ]);
  for (let i = 0; i < 3; i++) assert.notEqual(await within(ask(), "an answer"), null);
  // Each round: two refusals, then a third of the refill time passes and one event passes.
  // Counted "in a row", the pass reset the count and this went on for as long as it lasted.
  let refusals = 0;
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 2; i++) {
      const answer = await within(ask(), "a refusal or the close");
      if (answer === null) break;
      assert.equal(answer.error?.code, "RATE_LIMIT_EXCEEDED");
      refusals++;
    }
    t += 334;
    if (client.disconnected) break;
    await within(ask(), "the event a refilled token lets through");
  }
  assert.equal(await within(closed, "the flooding socket's end"), "transport close");
  assert.ok(refusals <= 4, `${refusals} refusals answered before the close`);
});
