import assert from "node:assert/strict";
import { createSocketHop } from "./hop.ts";
import { HOP_SECRET_HEADER } from "./inner_guard.ts";
import {
  ALLOWED_ORIGIN,
  connectError,
  EVIL_ORIGIN,
  Harness,
  nextEvents,
  once,
  sentinel,
  SESSION_A,
} from "./test_support.ts";

const HANDSHAKE = "/socket.io/?EIO=4&transport=polling";
const FAKE_SECRET = "fake-inner-secret";

/** A stand-in for the internal server, recording what the hop sends it. */
function fakeInner(handler: (req: Request) => Response | Promise<Response>) {
  const seen: { method: string; url: string; headers: Headers }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    seen.push({ method: req.method, url: req.url, headers: new Headers(req.headers) });
    return handler(req);
  });
  return { server, seen, port: server.addr.port };
}

/** A public server in front of `createSocketHop`, closed (with the hop) on dispose. */
function publicServer(internalPort: number) {
  const shutdown = new AbortController();
  const hop = createSocketHop({
    internalPort,
    secret: FAKE_SECRET,
    isOriginAllowed: (origin) => origin === null || origin === ALLOWED_ORIGIN,
    signal: shutdown.signal,
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, hop);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    ws: `ws://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      shutdown.abort();
      await server.shutdown();
    },
  };
}

/** Sends a raw upgrade request, because WebSocket clients hide the refusal's status. */
async function rawUpgrade(port: number, origin: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = [
      `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      `Origin: ${origin}`,
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n\r\n") || !text.includes("}")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test("origin: a refused origin gets 403 ORIGIN_NOT_ALLOWED for polling, preflight and upgrade", async () => {
  await using h = await Harness.start();
  for (const method of ["GET", "POST", "OPTIONS"]) {
    const res = await fetch(`${h.url}${HANDSHAKE}`, {
      method,
      headers: { origin: EVIL_ORIGIN },
      body: method === "POST" ? "1:6" : undefined,
    });
    assert.equal(res.status, 403, method);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    const body = await res.json();
    assert.equal(body.error.code, "ORIGIN_NOT_ALLOWED");
    assert.equal(typeof body.error.message, "string");
  }

  const raw = await rawUpgrade(h.server.addr.port, EVIL_ORIGIN);
  assert.match(raw, /^HTTP\/1\.1 403/);
  assert.match(raw, /ORIGIN_NOT_ALLOWED/);

  for (const transports of [["polling"], ["websocket"]] as ("polling" | "websocket")[][]) {
    const client = h.connect(SESSION_A, { transports, extraHeaders: { origin: EVIL_ORIGIN } });
    await connectError(client);
  }
  assert.equal(h.realtime.io.engine.clientsCount, 0, "nothing reached the internal server");
});

Deno.test("origin: an allowed origin gets CORS headers and a preflight answer", async () => {
  await using h = await Harness.start();
  const preflight = await fetch(`${h.url}${HANDSHAKE}`, {
    method: "OPTIONS",
    headers: {
      origin: ALLOWED_ORIGIN,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    },
  });
  await preflight.body?.cancel();
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
  assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
  assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
  assert.equal(preflight.headers.get("access-control-allow-headers"), "content-type");
  assert.match(preflight.headers.get("vary") ?? "", /Origin/);

  const handshake = await fetch(`${h.url}${HANDSHAKE}`, { headers: { origin: ALLOWED_ORIGIN } });
  assert.equal(handshake.status, 200);
  assert.equal(handshake.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
  assert.equal(handshake.headers.get("access-control-allow-credentials"), "true");
  assert.match(handshake.headers.get("vary") ?? "", /Origin/);
  assert.match(await handshake.text(), /^0\{"sid":/);

  const client = await h.watcher(SESSION_A, { extraHeaders: { origin: ALLOWED_ORIGIN } });
  assert.equal(client.connected, true);
});

for (const transports of [["polling"], ["websocket"]] as ("polling" | "websocket")[][]) {
  Deno.test(`hop [${transports}]: the client address comes from the hop, never from the client`, async () => {
    await using h = await Harness.start();
    await h.watcher(SESSION_A, { transports, extraHeaders: { "x-forwarded-for": "6.6.6.6" } });
    const [socket] = await h.realtime.io.fetchSockets();
    assert.ok(socket);
    assert.equal(socket.handshake.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(socket.data.clientAddress, "127.0.0.1");
  });
}

Deno.test("hop: socket.io-client's default transports upgrade from polling to websocket", async () => {
  await using h = await Harness.start();
  const client = h.connect(SESSION_A);
  const upgraded = new Promise<string>((resolve) =>
    client.io.on(
      "open",
      () => client.io.engine.once("upgrade", (t: { name: string }) => resolve(t.name)),
    )
  );
  await once(client, "connection-status");
  assert.equal(await upgraded, "websocket");
  const [socket] = h.realtime.io.of("/").sockets.values();
  assert.ok(socket);
  if (socket.conn.transport.name !== "websocket") {
    // The client switches when it sends the upgrade packet; the server when it reads it.
    await new Promise((resolve) => socket.conn.once("upgrade", resolve));
  }
  assert.equal(socket.conn.transport.name, "websocket");

  const arrived = nextEvents(client, "upload-started", 1);
  h.bus.publish(sentinel(SESSION_A));
  await arrived;
});

Deno.test("hop: polling requests are forwarded as they are, plus X-Forwarded-For", async () => {
  const inner = fakeInner(async (req) =>
    new Response(`echo:${await req.text()}`, {
      status: 200,
      headers: {
        "content-type": "text/plain; charset=UTF-8",
        "x-inner": "1",
        "access-control-allow-origin": "*",
        connection: "keep-alive",
      },
    })
  );
  try {
    await using pub = publicServer(inner.port);
    const res = await fetch(`${pub.url}/socket.io/?EIO=4&transport=polling&sid=abc`, {
      method: "POST",
      headers: {
        origin: ALLOWED_ORIGIN,
        "content-type": "text/plain; charset=UTF-8",
        "x-forwarded-for": "6.6.6.6",
        "x-custom": "kept",
      },
      body: new Blob(["4hello"]).stream(),
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "echo:4hello");
    assert.equal(res.headers.get("x-inner"), "1");
    assert.equal(
      res.headers.get("access-control-allow-origin"),
      ALLOWED_ORIGIN,
      "the hop's CORS, not the inner's",
    );

    const [req] = inner.seen;
    assert.ok(req);
    assert.equal(req.method, "POST");
    const url = new URL(req.url);
    assert.equal(url.pathname + url.search, "/socket.io/?EIO=4&transport=polling&sid=abc");
    assert.equal(req.headers.get("x-forwarded-for"), "127.0.0.1");
    assert.equal(req.headers.get("x-custom"), "kept");
    assert.equal(req.headers.get(HOP_SECRET_HEADER), FAKE_SECRET, "the hop proves itself");
    assert.equal(req.headers.get("origin"), ALLOWED_ORIGIN);
    assert.equal(req.headers.get("host"), `127.0.0.1:${inner.port}`);
  } finally {
    await inner.server.shutdown();
  }
});

Deno.test("hop: websocket frames, early frames and close codes are piped both ways", async () => {
  let release!: () => void;
  const upgradeAllowed = new Promise<void>((resolve) => release = resolve);
  let innerClosed = Promise.withResolvers<{ code: number; reason: string }>();
  const inner = fakeInner(async (req) => {
    if (new URL(req.url).searchParams.get("refuse") === "1") {
      return new Response("no", { status: 400 });
    }
    await upgradeAllowed; // the client's first frames must wait in the hop
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => {
      if (e.data === "close-me") socket.close(4001, "inner says bye");
      else socket.send(e.data);
    };
    socket.onclose = (e) => innerClosed.resolve({ code: e.code, reason: e.reason });
    return response;
  });
  try {
    await using pub = publicServer(inner.port);

    const ws = new WebSocket(`${pub.ws}/socket.io/?x=1`);
    ws.binaryType = "arraybuffer";
    const received: (string | number[])[] = [];
    const threeEchoes = Promise.withResolvers<void>();
    ws.onmessage = (e) => {
      received.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)]);
      if (received.length === 3) threeEchoes.resolve();
    };
    await new Promise((resolve) => ws.onopen = resolve);
    ws.send("early-1");
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send("early-2");
    release();
    await threeEchoes.promise;
    assert.deepEqual(received, ["early-1", [1, 2, 3], "early-2"]);

    const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
    ws.send("close-me");
    const event = await closed;
    assert.deepEqual([event.code, event.reason], [4001, "inner says bye"]);
    await innerClosed.promise;
    innerClosed = Promise.withResolvers();

    // Client-initiated close carries its code inward.
    const ws2 = new WebSocket(`${pub.ws}/socket.io/?x=2`);
    await new Promise((resolve) => ws2.onopen = resolve);
    const echoed = new Promise((resolve) => ws2.onmessage = resolve);
    ws2.send("ping");
    await echoed;
    const ws2Closed = new Promise((resolve) => ws2.onclose = resolve);
    ws2.close(4002, "client says bye");
    await ws2Closed;
    assert.deepEqual(await innerClosed.promise, { code: 4002, reason: "client says bye" });

    // An internal refusal becomes a close with 1011 on the public socket.
    const ws3 = new WebSocket(`${pub.ws}/socket.io/?refuse=1`);
    const refused = await new Promise<CloseEvent>((resolve) => ws3.onclose = resolve);
    assert.equal(refused.code, 1011);
  } finally {
    await inner.server.shutdown();
  }
});

Deno.test("hop: a message above 64 KiB is refused by the internal server, on both transports", async () => {
  await using h = await Harness.start();
  const handshake = await fetch(`${h.url}${HANDSHAKE}`);
  const { sid } = JSON.parse((await handshake.text()).slice(1));
  const big = "4" + "x".repeat(64 * 1024 + 1);
  const post = await fetch(`${h.url}${HANDSHAKE}&sid=${sid}`, { method: "POST", body: big });
  await post.body?.cancel();
  assert.equal(post.status, 413);

  const client = await h.watcher(SESSION_A, { transports: ["websocket"] });
  const disconnected = new Promise<string>((resolve) => client.once("disconnect", resolve));
  client.emit("upload-resume", { sessionId: SESSION_A, fileId: "x".repeat(64 * 1024) });
  assert.equal(await disconnected, "transport close");
});

Deno.test("close(): every socket hears connection-status disconnected, then the transport closes", async () => {
  await using h = await Harness.start();
  const clients = await Promise.all([
    h.watcher(SESSION_A, { transports: ["polling"] }),
    h.watcher(SESSION_A, { transports: ["websocket"] }),
    h.watcher(SESSION_A),
  ]);
  const farewells = clients.map((c) => once(c, "connection-status"));
  const disconnects = clients.map((c) =>
    new Promise<string>((resolve) => c.once("disconnect", resolve))
  );
  await h.realtime.close();
  for (const status of await Promise.all(farewells)) {
    assert.equal(status.status, "disconnected");
    assert.equal(typeof status.message, "string");
  }
  const reasons = await Promise.all(disconnects);
  for (const reason of reasons) assert.match(reason, /^transport (close|error)$/);
  assert.equal(h.realtime.io.engine.clientsCount, 0);

  // Closed: the hop answers without reaching for the internal server.
  const res = await fetch(`${h.url}${HANDSHAKE}`);
  assert.equal(res.status, 503);
  await res.body?.cancel();
});

Deno.test("close(): a lone long-polling client hears the farewell before its transport ends", async () => {
  await using h = await Harness.start();
  const client = await h.watcher(SESSION_A, { transports: ["polling"] });
  const farewell = once(client, "connection-status");
  // Before: "drain" meant handed to the internal server, which io.close() then cut while the
  // hop still relayed the answer; the client saw a transport error and no farewell.
  await h.realtime.close();
  assert.equal((await farewell).status, "disconnected");
});
