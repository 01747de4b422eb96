/**
 * Anonymous mode (H5_ALLOW_ANONYMOUS, issue #7 item 10): every anonymous client shares one
 * identity, so an upload's unguessable id is its only capability, and what an anonymous
 * client declares as its type is never what a browser is told to render.
 */
import assert from "node:assert/strict";
import { fileBytes, metadata } from "../server/testing/harness.ts";
import { captureErrors } from "./support/console.ts";
import { bearer, createSession, createUpload, OCTET, patch, TUS } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function anonymousCreate(
  endpoint: string,
  fields: Record<string, string>,
  body?: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const headers: Record<string, string> = {
    ...TUS,
    "Upload-Length": String(body?.length ?? 100),
    "Upload-Metadata": metadata(fields),
  };
  if (body) headers["Content-Type"] = OCTET;
  const res = await fetch(endpoint, { method: "POST", headers, body: body ?? null });
  await res.body?.cancel();
  assert.equal(res.status, 201);
  return res.headers.get("Location")!;
}

Deno.test("anonymous: fileId is ignored, so a second client cannot name (or delete) the first's upload", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ env: { H5_ALLOW_ANONYMOUS: "true" }, scope });
    const log = captureErrors(scope);
    // Client A asks for a memorable id.
    const location = await anonymousCreate(server.tusEndpoint, {
      filename: "a.bin",
      fileId: "victim",
    });
    const id = new URL(location).pathname.split("/").pop()!;
    assert.match(id, UUID, "the server chose an unguessable id");

    // Client B guesses the id A asked for: there is no such upload.
    for (const method of ["DELETE", "HEAD", "PATCH"]) {
      const headers: Record<string, string> = { ...TUS };
      if (method === "PATCH") {
        Object.assign(headers, { "Content-Type": OCTET, "Upload-Offset": "0" });
      }
      const res = await fetch(`${server.tusEndpoint}/victim`, {
        method,
        headers,
        body: method === "PATCH" ? fileBytes(10) : null,
      });
      await res.body?.cancel();
      assert.equal(res.status, 404, `${method} /victim`);
    }
    // B asking for the same fileId gets an id of its own, not A's upload.
    const other = await anonymousCreate(server.tusEndpoint, {
      filename: "b.bin",
      fileId: "victim",
    });
    assert.notEqual(other, location);
    assert.notEqual(new URL(other).pathname.split("/").pop(), "victim");

    // A's upload is untouched and still resumable.
    const head = await fetch(location, { method: "HEAD", headers: TUS });
    await head.body?.cancel();
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("Upload-Offset"), "0");
    const done = await patch(location, null, 0, fileBytes(100));
    assert.equal(done.status, 204);
    log.assertNone("anonymous uploads");
  }));

Deno.test("anonymous: a session upload keeps its fileId (the spec's id)", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ env: { H5_ALLOW_ANONYMOUS: "true" }, scope });
    const session = await createSession(server.url);
    const res = await fetch(server.tusEndpoint, {
      method: "POST",
      headers: {
        ...TUS,
        ...bearer(session.token),
        "Upload-Length": "100",
        "Upload-Metadata": metadata({
          filename: "p.jpg",
          filetype: "image/jpeg",
          fileId: "mine-1",
          sessionId: session.sessionId,
        }),
      },
    });
    await res.body?.cancel();
    assert.equal(res.status, 201);
    assert.equal(new URL(res.headers.get("Location")!).pathname, "/api/uploads/mine-1");
  }));

Deno.test("anonymous: a text/html upload downloads as octet-stream, sandboxed, nosniff", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ env: { H5_ALLOW_ANONYMOUS: "true" }, scope });
    const page = new TextEncoder().encode("<html><script>alert(document.cookie)</script></html>");
    const location = await anonymousCreate(
      server.tusEndpoint,
      { filename: "index.html", filetype: "text/html" },
      page,
    );
    const res = await fetch(location);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Content-Type"), "application/octet-stream");
    assert.equal(res.headers.get("Content-Security-Policy"), "sandbox");
    assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
    assert.match(res.headers.get("Content-Disposition") ?? "", /^attachment;/);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), page);
    // The same for a range.
    const part = await fetch(location, { headers: { Range: "bytes=0-5" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("Content-Type"), "application/octet-stream");
    assert.equal(part.headers.get("Content-Security-Policy"), "sandbox");
    await part.body?.cancel();
  }));

Deno.test("session downloads keep their checked type, also sandboxed and nosniff", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const session = await createSession(server.url);
    const up = await createUpload(server.url, session, { size: 100 });
    assert.equal((await patch(up.location, session.token, 0, fileBytes(100))).status, 204);
    const res = await fetch(up.location, { headers: bearer(session.token) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Content-Type"), "image/jpeg");
    assert.equal(res.headers.get("Content-Security-Policy"), "sandbox");
    assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
    await res.body?.cancel();
  }));
