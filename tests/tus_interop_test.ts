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
