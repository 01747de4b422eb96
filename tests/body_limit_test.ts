/** Item 4: a JSON body is capped while it streams, whatever its framing. */
import assert from "node:assert/strict";
import { createSession } from "./support/http.ts";
import { RawConnection } from "./support/raw.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";

const MiB = 2 ** 20;

Deno.test("body limit: a 64 MiB chunked POST /api/sessions is refused 413 while it streams", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const raw = await RawConnection.open(scope, server.url);
    // Server and test share this process: its RSS is the server's, bounded by the test's own
    // 64 KiB chunk.
    const before = Deno.memoryUsage().rss;
    let peak = before;
    await raw.write(
      "POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n",
    );
    const pad = new TextEncoder().encode("x".repeat(64 * 1024));
    const chunk = new Uint8Array(pad.byteLength + 16);
    const head = new TextEncoder().encode(`${pad.byteLength.toString(16)}\r\n`);
    chunk.set(head);
    chunk.set(pad, head.byteLength);
    chunk.set(new TextEncoder().encode("\r\n"), head.byteLength + pad.byteLength);
    const frame = chunk.subarray(0, head.byteLength + pad.byteLength + 2);
    await raw.write('6\r\n{"a":"\r\n');
    let sent = 0;
    // Written alongside the wait for the answer: the server need not read what it refused,
    // so a write may block until the connection goes away.
    const writing = (async () => {
      while (sent < 64 * MiB && !raw.received.includes("\r\n\r\n") && !raw.closed) {
        await raw.write(frame);
        sent += pad.byteLength;
        if (sent % (4 * MiB) === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
      }
    })().catch(() => {});
    const answer = await raw.answer("the answer to a 64 MiB chunked session request");
    await raw.close();
    await writing;
    peak = Math.max(peak, Deno.memoryUsage().rss);
    assert.equal(answer.status, 413, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, "REQUEST_TOO_LARGE");
    assert.ok(
      peak - before < 32 * MiB,
      `RSS grew by ${((peak - before) / MiB).toFixed(1)} MiB for a refused body`,
    );
    // And the server goes on serving: a normal session request is still created.
    await createSession(server.url);
  }));

Deno.test("body limit: a small chunked session request still works", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const raw = await RawConnection.open(scope, server.url);
    const json = JSON.stringify({ category: "personal", clientType: "web" });
    await raw.write(
      "POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`,
    );
    const answer = await raw.answer("a chunked session request");
    assert.equal(answer.status, 201, answer.body);
  }));
