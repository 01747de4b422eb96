/**
 * tus interop over real sockets: the framings and flows of the public tus conformance suite
 * (sagikazarmark/tus-conformance-tests) that `fetch`-based tests do not reach.
 */
import assert from "node:assert/strict";
import { b64 } from "../server/testing/harness.ts";
import { bearer, createSession, TUS } from "./support/http.ts";
import { chunked, rawExchange } from "./support/raw_http.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";

Deno.test("tus interop: a creation POST with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 §6.3)", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_ALLOW_ANONYMOUS: "true" } });
    // What curl and Hurl send for an empty POST: no Content-Length, no Content-Type.
    const anonymous = await rawExchange(
      server.url,
      "POST /api/uploads HTTP/1.1\r\nTus-Resumable: 1.0.0\r\nUpload-Length: 12",
    );
    assert.equal(anonymous.status, 201, anonymous.body);
    const location = anonymous.headers.get("Location");
    assert.ok(location);
    const patched = await fetch(location, {
      method: "PATCH",
      headers: {
        ...TUS,
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
      },
      body: "Hello, tus!\n",
    });
    await patched.body?.cancel();
    assert.equal(patched.status, 204);
    assert.equal(patched.headers.get("Upload-Offset"), "12");

    const session = await createSession(server.url);
    const withToken = await rawExchange(
      server.url,
      [
        "POST /api/uploads HTTP/1.1",
        "Tus-Resumable: 1.0.0",
        "Upload-Length: 100",
        `Authorization: Bearer ${session.token}`,
        `Upload-Metadata: filename ${b64("a.jpg")},filetype ${b64("image/jpeg")}`,
      ].join("\r\n"),
    );
    assert.equal(withToken.status, 201, withToken.body);
    assert.equal(withToken.headers.get("Upload-Offset"), null, "no creation-with-upload");

    // A chunked body is a body: its Content-Type must still be the tus one.
    const chunkedText = await rawExchange(
      server.url,
      [
        "POST /api/uploads HTTP/1.1",
        "Tus-Resumable: 1.0.0",
        "Upload-Length: 12",
        "Content-Type: text/plain",
        "Transfer-Encoding: chunked",
        ...Object.entries(bearer(session.token)).map(([k, v]) => `${k}: ${v}`),
      ].join("\r\n"),
      chunked(["Hello, tus!\n"]),
    );
    assert.equal(chunkedText.status, 415, chunkedText.body);
    assert.equal(JSON.parse(chunkedText.body).error.code, "UNSUPPORTED_MEDIA_TYPE");
  }));

/** A chunked PATCH whose `Upload-Checksum` comes as a trailer (tus checksum-trailer). */
function trailerPatch(path: string, token: string, data: string, checksum: string) {
  return [
    [
      `PATCH ${path} HTTP/1.1`,
      "Tus-Resumable: 1.0.0",
      `Authorization: Bearer ${token}`,
      "Content-Type: application/offset+octet-stream",
      "Upload-Offset: 0",
      "Transfer-Encoding: chunked",
      "Trailer: Upload-Checksum",
    ].join("\r\n"),
    chunked([data], { "Upload-Checksum": checksum }),
  ] as const;
}

async function sha1Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

Deno.test("tus interop: Deno.serve drops request trailers (denoland/deno#23632), the limit behind checksum-trailer", () =>
  scoped(async (scope) => {
    // The bare runtime, no app: what a handler can see of a chunked request with a trailer.
    const seen = Promise.withResolvers<{ body: string; fields: string[] }>();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = await req.text();
      const fields = [...req.headers].map(([k, v]) => `${k}: ${v}`);
      seen.resolve({ body, fields });
      return new Response(null, { status: 204 });
    });
    scope.defer("stop the bare server", () => server.shutdown());
    const url = `http://127.0.0.1:${server.addr.port}`;
    const [head, body] = trailerPatch("/x", "t", "Hello, tus!\n", "sha1 abc=");
    const answer = await rawExchange(url, head, body);
    assert.equal(answer.status, 204);
    const { body: received, fields } = await seen.promise;
    assert.equal(received, "Hello, tus!\n", "the chunked body arrives");
    // If this starts failing, Deno exposes trailers: checksum-trailer can then be offered.
    assert.ok(
      !fields.some((f) => f.toLowerCase().startsWith("upload-checksum")),
      `the trailer is nowhere a handler can read it: ${fields.join("; ")}`,
    );
  }));

Deno.test("tus interop: checksum-trailer is not advertised; a PATCH announcing it is refused, good or bad", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const options = await fetch(server.tusEndpoint, { method: "OPTIONS" });
    await options.body?.cancel();
    const extensions = options.headers.get("Tus-Extension")!.split(",");
    assert.ok(extensions.includes("checksum"));
    assert.ok(extensions.includes("concatenation-unfinished"));
    assert.ok(!extensions.includes("checksum-trailer"), "never claim what cannot be checked");

    const session = await createSession(server.url);
    const data = "Hello, tus!\n";
    const created = await rawExchange(
      server.url,
      [
        "POST /api/uploads HTTP/1.1",
        "Tus-Resumable: 1.0.0",
        `Upload-Length: ${data.length}`,
        `Authorization: Bearer ${session.token}`,
        `Upload-Metadata: filename ${b64("a.jpg")},filetype ${b64("image/jpeg")}`,
      ].join("\r\n"),
    );
    assert.equal(created.status, 201);
    const path = new URL(created.headers.get("Location")!).pathname;
    for (const checksum of [`sha1 ${await sha1Base64(data)}`, `sha1 ${await sha1Base64("x")}`]) {
      const [head, body] = trailerPatch(path, session.token, data, checksum);
      const answer = await rawExchange(server.url, head, body);
      assert.equal(answer.status, 400, answer.body);
      assert.equal(JSON.parse(answer.body).error.code, "CHECKSUM_UNSUPPORTED");
    }
    const after = await fetch(new URL(path, server.url), {
      method: "HEAD",
      headers: { ...TUS, ...bearer(session.token) },
    });
    await after.body?.cancel();
    assert.equal(after.headers.get("Upload-Offset"), "0", "nothing stored unverified");
  }));
