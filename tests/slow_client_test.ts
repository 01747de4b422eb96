/**
 * Item 6: slow and greedy clients. Unfinished headers and a stalled body are ended after
 * H5_IDLE_TIMEOUT_MS (a stalled PATCH keeps what it sent and resumes), and one address
 * cannot hold more than H5_MAX_CONNECTIONS_PER_IP connections.
 */
import assert from "node:assert/strict";
import { fileBytes } from "../server/testing/harness.ts";
import { within } from "./support/deadline.ts";
import { createSession, createUpload, offsetOf, patch, streamPatch } from "./support/http.ts";
import { RawConnection } from "./support/raw.ts";
import { command, connectWatcher } from "./support/socket.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";

/** Far above the 300 ms timeout, far below the 130 s the issue saw connections held. */
const CLOSED_WITHIN_MS = 10_000;

Deno.test("runtime: Deno.serveHttp is there (the header timeout and the connection cap need it)", () => {
  // Deno.serve has no per-connection hook; server/http/serve.ts serves each accepted connection
  // with the deprecated Deno.serveHttp and falls back to Deno.serve, limits off, without it.
  // Should a Deno release drop it, this names the cause of the two tests below failing.
  assert.equal(typeof (Deno as unknown as { serveHttp?: unknown }).serveHttp, "function");
});

Deno.test("slowloris: a request with unfinished headers is closed after the idle timeout", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_IDLE_TIMEOUT_MS: "300" } });
    const raw = await RawConnection.open(scope, server.url);
    await raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    await raw.untilClosed(
      "the server to close a connection with half its headers",
      CLOSED_WITHIN_MS,
    );
    assert.equal(raw.received, "", "nothing is answered to half a request");

    // A keep-alive connection left idle after its answer is closed too (the same timer).
    const idle = await RawConnection.open(scope, server.url);
    await idle.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await idle.answer("GET /healthz")).status, 200);
    await idle.untilClosed("the server to close an idle keep-alive connection", CLOSED_WITHIN_MS);

    // The server is unaffected.
    assert.equal((await fetch(`${server.url}/healthz`).then((r) => r.json())).ok, true);
  }));

Deno.test("slowloris: a PATCH stalled mid-body is ended, keeps its bytes and resumes", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_IDLE_TIMEOUT_MS: "300" } });
    const session = await createSession(server.url);
    const bytes = fileBytes(1000);
    const upload = await createUpload(server.url, session, { size: bytes.length });
    const { pathname } = new URL(upload.location);

    const raw = await RawConnection.open(scope, server.url);
    await raw.write(
      `PATCH ${pathname} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n` +
        `Authorization: Bearer ${session.token}\r\n` +
        "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n" +
        "Content-Length: 1000\r\n\r\n",
    );
    await raw.write(bytes.subarray(0, 3));
    const answer = await raw.answer(
      "the answer to a PATCH stalled after 3 bytes",
      CLOSED_WITHIN_MS,
    );
    assert.equal(answer.status, 400, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, "UPLOAD_INTERRUPTED");
    await raw.untilClosed("the stalled PATCH's connection to close", CLOSED_WITHIN_MS);

    // What arrived is committed, and the upload resumes from there.
    assert.equal(await offsetOf(upload.location, session.token), 3);
    const rest = await patch(upload.location, session.token, 3, bytes.slice(3));
    assert.equal(rest.status, 204, JSON.stringify(rest.error));
    assert.equal(rest.offset, 1000);
  }));

Deno.test("connection cap: one address holds at most H5_MAX_CONNECTIONS_PER_IP connections", () =>
  scoped(async (scope) => {
    const server = await startTestServer({
      scope,
      env: { H5_MAX_CONNECTIONS_PER_IP: "3", H5_IDLE_TIMEOUT_MS: "20000" },
    });
    // Accepted in connect order: each request answered proves its connection was counted.
    const held: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const raw = await RawConnection.open(scope, server.url);
      await raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await raw.answer(`keep-alive request ${i}`)).status, 200);
      held.push(raw);
    }
    const refused = await RawConnection.open(scope, server.url);
    const answer = await refused.answer("the answer to a 4th connection", CLOSED_WITHIN_MS);
    assert.equal(answer.status, 429, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, "RATE_LIMIT_EXCEEDED");
    await refused.untilClosed("the refused connection to close");

    // A closed connection frees its slot.
    await held[0]!.close();
    const again = await within(
      (async () => {
        for (;;) {
          const raw = await RawConnection.open(scope, server.url);
          await raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
          const res = await raw.answer("a request after a slot was freed");
          await raw.close();
          // Until the server noticed the close, the slot is still taken: that answer is 429.
          if (res.status !== 429) return res;
        }
      })(),
      "a new connection to be accepted after one closed",
    );
    assert.equal(again.status, 200);
  }));

Deno.test("slowloris: a slow but steady PATCH is not cut (the idle timer restarts per read)", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_IDLE_TIMEOUT_MS: "300" } });
    const session = await createSession(server.url);
    const bytes = fileBytes(1000);
    const upload = await createUpload(server.url, session, { size: bytes.length });
    const sending = streamPatch(scope, upload.location, session.token, 0);
    // Pacing is the point here, not synchronisation: 10 gaps of 100 ms last 1 s in all,
    // over 3 times the idle timeout, while no gap comes near it.
    for (let i = 0; i < 10; i++) {
      sending.body.push(bytes.subarray(i * 100, (i + 1) * 100));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    sending.body.close();
    const answer = await within(sending.answer, "the paced PATCH's answer");
    assert.equal(answer.status, 204, JSON.stringify(answer.error));
    assert.equal(answer.offset, 1000);
  }));

Deno.test("slowloris: a session request whose JSON body stalls is answered 408 and closed", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_IDLE_TIMEOUT_MS: "300" } });
    const raw = await RawConnection.open(scope, server.url);
    await raw.write(
      "POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        'Content-Length: 100\r\n\r\n{"category":',
    );
    const answer = await raw.answer("the answer to a stalled session request", CLOSED_WITHIN_MS);
    assert.equal(answer.status, 408, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, "CONNECTION_TIMEOUT");
    await raw.untilClosed("the stalled session request's connection to close", CLOSED_WITHIN_MS);
    await createSession(server.url);
  }));

Deno.test("slowloris: an upgraded WebSocket is not an idle HTTP connection", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_IDLE_TIMEOUT_MS: "200" } });
    const session = await createSession(server.url);
    const upload = await createUpload(server.url, session, { size: 1000 });
    const watcher = await connectWatcher(server.url, { ...session, scope });
    // Pacing is the point: the socket lives through 5 idle timeouts without HTTP traffic.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(watcher.socket.connected, true);
    const ack = await command(watcher.socket, "upload-progress", {
      sessionId: session.sessionId,
      fileId: upload.id,
      requestUpdate: true,
    });
    assert.equal(ack.ok, true, JSON.stringify(ack));
  }));
