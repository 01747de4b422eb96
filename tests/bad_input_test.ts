/**
 * Every bad input the README names, over real HTTP against a real server: each gets its
 * status AND its error code (and the headers tus requires), nothing is appended or created
 * where it must not be, and the server keeps serving afterwards (GET /healthz after each).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ErrorCode } from "../protocol/errors.ts";
import type { CreateSessionResponse } from "../protocol/session.ts";
import { fileBytes, metadata, sha256Hex } from "../server/testing/harness.ts";
import {
  bearer,
  createSession,
  createUpload,
  exists,
  listTree,
  OCTET,
  offsetOf,
  patch,
  TUS,
} from "./support/http.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const GiB = 2 ** 30;

/** The server still answers: every bad request is followed by this. */
async function assertServing(server: TestServer, after: string): Promise<void> {
  const res = await fetch(`${server.url}/healthz`);
  const body = await res.json();
  assert.equal(res.status, 200, `/healthz after ${after}`);
  assert.equal(body.ok, true, `/healthz after ${after}`);
}

/**
 * Sends a request that must fail with `status` and `code` (a JSON error body), then checks
 * the server still serves. Returns the response headers for further checks.
 */
async function expectError(
  server: TestServer,
  what: string,
  request: Promise<Response>,
  status: number,
  code: ErrorCode | null,
): Promise<Headers> {
  const res = await request;
  const text = await res.text();
  assert.equal(res.status, status, `${what}: status (body ${text.slice(0, 200)})`);
  if (code !== null) {
    let body: { error?: { code?: string; message?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new assert.AssertionError({ message: `${what}: the body is not JSON: ${text}` });
    }
    assert.equal(body.error?.code, code, `${what}: error code`);
    assert.equal(typeof body.error?.message, "string", `${what}: error message`);
    assert.match(res.headers.get("Content-Type") ?? "", /^application\/json/);
  }
  await assertServing(server, what);
  return res.headers;
}

interface Fixture {
  server: TestServer;
  session: CreateSessionResponse;
}

async function fixture(scope: Scope, env: Record<string, string> = {}): Promise<Fixture> {
  const server = await startTestServer({ env, scope });
  const session = await createSession(server.url);
  return { server, session };
}

function creation(
  f: Fixture,
  headers: Record<string, string>,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(f.server.tusEndpoint, { method: "POST", headers, ...init });
}

function uploadHeaders(f: Fixture, size: number, extra: Record<string, string> = {}) {
  return {
    ...TUS,
    ...bearer(f.session.token),
    "Upload-Length": String(size),
    "Upload-Metadata": metadata({
      filename: "photo.jpg",
      filetype: "image/jpeg",
      sessionId: f.session.sessionId,
      category: "personal",
    }),
    ...extra,
  };
}

function b64digest(algorithm: "sha1" | "sha256" | "md5", bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest("base64");
}

Deno.test("bad input: tus headers (Tus-Resumable, Content-Type, Upload-Offset, lengths, metadata)", () =>
  scoped(async (scope) => {
    const f = await fixture(scope);
    const { server, session } = f;
    const up = await createUpload(server.url, session, { size: 1000 });
    const auth = bearer(session.token);
    const body = fileBytes(100);

    // Missing or unsupported Tus-Resumable: 412 with the version the server speaks.
    for (
      const [what, request] of [
        [
          "POST without Tus-Resumable",
          creation(f, { ...auth, "Upload-Length": "10" }),
        ],
        [
          "PATCH without Tus-Resumable",
          fetch(up.location, {
            method: "PATCH",
            headers: { ...auth, "Content-Type": OCTET, "Upload-Offset": "0" },
            body,
          }),
        ],
        ["HEAD without Tus-Resumable", fetch(up.location, { method: "HEAD", headers: auth })],
        [
          "POST with Tus-Resumable 0.2.2",
          creation(f, { ...auth, "Tus-Resumable": "0.2.2", "Upload-Length": "10" }),
        ],
      ] as const
    ) {
      // HEAD answers have no body to carry the code.
      const code = what.startsWith("HEAD") ? null : "TUS_VERSION_UNSUPPORTED";
      const headers = await expectError(server, what, request, 412, code);
      assert.equal(headers.get("Tus-Version"), "1.0.0", `${what}: Tus-Version`);
    }

    // PATCH bodies must be application/offset+octet-stream.
    for (const type of ["application/octet-stream", "text/plain", null]) {
      const headers: Record<string, string> = { ...TUS, ...auth, "Upload-Offset": "0" };
      if (type) headers["Content-Type"] = type;
      await expectError(
        server,
        `PATCH with Content-Type ${type}`,
        fetch(up.location, { method: "PATCH", headers, body }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
    }
    // creation-with-upload: the same rule for a creation body.
    await expectError(
      server,
      "creation body with Content-Type text/plain",
      creation(f, { ...uploadHeaders(f, 100), "Content-Type": "text/plain" }, { body }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );

    // Upload-Offset: required, a non-negative integer.
    for (const offset of [null, "abc", "-1", "1.5", "0x10"]) {
      const headers: Record<string, string> = { ...TUS, ...auth, "Content-Type": OCTET };
      if (offset !== null) headers["Upload-Offset"] = offset;
      await expectError(
        server,
        `PATCH with Upload-Offset ${offset}`,
        fetch(up.location, { method: "PATCH", headers, body }),
        400,
        "INVALID_REQUEST",
      );
    }

    // Upload-Length / Upload-Defer-Length / Upload-Metadata / Upload-Concat.
    const badCreations: [string, Record<string, string>][] = [
      ["no Upload-Length nor Upload-Defer-Length", { ...uploadHeaders(f, 1), "Upload-Length": "" }],
      ["Upload-Length abc", uploadHeaders(f, 1, { "Upload-Length": "abc" })],
      [
        "Upload-Length and Upload-Defer-Length",
        uploadHeaders(f, 1, { "Upload-Defer-Length": "1" }),
      ],
      ["Upload-Defer-Length 2", { ...uploadHeaders(f, 1), "Upload-Defer-Length": "2" }],
      ["Upload-Metadata not base64", uploadHeaders(f, 1, { "Upload-Metadata": "filename %%%" })],
      [
        "Upload-Metadata duplicate key",
        uploadHeaders(f, 1, { "Upload-Metadata": "a YQ==,a YQ==" }),
      ],
      ["Upload-Concat nonsense", uploadHeaders(f, 1, { "Upload-Concat": "sideways" })],
      [
        "Upload-Concat final of a non-partial upload",
        {
          ...uploadHeaders(f, 1),
          "Upload-Concat": `final;${new URL(up.location).pathname}`,
        },
      ],
    ];
    for (const [what, headers] of badCreations) {
      if (headers["Upload-Length"] === "") delete headers["Upload-Length"];
      if (what.startsWith("Upload-Concat final")) delete headers["Upload-Length"];
      // A final over an upload that is not a partial one names its own code.
      const code = what.startsWith("Upload-Concat final")
        ? "CONCAT_PART_INVALID"
        : "INVALID_REQUEST";
      await expectError(server, `POST with ${what}`, creation(f, headers), 400, code);
    }

    // A method the resource does not take, a route that does not exist.
    const put = await expectError(
      server,
      "PUT on an upload",
      fetch(up.location, { method: "PUT", headers: { ...TUS, ...auth }, body }),
      405,
      "METHOD_NOT_ALLOWED",
    );
    assert.match(put.get("Allow") ?? "", /PATCH/);
    await expectError(
      server,
      "GET on the upload collection",
      fetch(server.tusEndpoint, { headers: { ...TUS, ...auth } }),
      405,
      "METHOD_NOT_ALLOWED",
    );
    await expectError(
      server,
      "an unknown route",
      fetch(`${server.url}/api/nope`),
      404,
      "NOT_FOUND",
    );

    // None of this touched the upload.
    assert.equal(await offsetOf(up.location, session.token), 0);
  }));

Deno.test("bad input: offset mismatch 409 with Upload-Offset, nothing appended", () =>
  scoped(async (scope) => {
    const f = await fixture(scope);
    const { server, session } = f;
    const source = fileBytes(1000);
    const up = await createUpload(server.url, session, { size: source.length });
    assert.equal((await patch(up.location, session.token, 0, source.slice(0, 100))).status, 204);

    for (const offset of [0, 50, 101, 5000]) {
      const headers = await expectError(
        server,
        `PATCH at ${offset} when the offset is 100`,
        fetch(up.location, {
          method: "PATCH",
          headers: {
            ...TUS,
            ...bearer(session.token),
            "Content-Type": OCTET,
            "Upload-Offset": String(offset),
          },
          body: source.slice(offset % 1000, (offset % 1000) + 10),
        }),
        409,
        "OFFSET_MISMATCH",
      );
      assert.equal(headers.get("Upload-Offset"), "100", "409 carries the upload's offset");
    }
    assert.equal(await offsetOf(up.location, session.token), 100);
    const part = await Deno.stat(`${server.uploadsDir}/.parts/${up.id}`);
    assert.equal(part.size, 100, "nothing appended to the part");

    const rest = await patch(up.location, session.token, 100, source.slice(100));
    assert.equal(rest.status, 204);
    assert.equal(rest.offset, source.length);
  }));

Deno.test("bad input: checksums (mismatch 460 appends nothing, unknown algorithm 400)", () =>
  scoped(async (scope) => {
    const f = await fixture(scope);
    const { server, session } = f;
    const source = fileBytes(3 * 4096);
    const up = await createUpload(server.url, session, { size: source.length });
    const chunk = (i: number) => source.slice(i * 4096, (i + 1) * 4096);
    const checksummed = (offset: number, bytes: Uint8Array<ArrayBuffer>, checksum: string) =>
      fetch(up.location, {
        method: "PATCH",
        headers: {
          ...TUS,
          ...bearer(session.token),
          "Content-Type": OCTET,
          "Upload-Offset": String(offset),
          "Upload-Checksum": checksum,
        },
        body: bytes,
      });

    // A matching checksum is accepted (sha1, the tus default, then md5).
    const ok = await checksummed(0, chunk(0), `sha1 ${b64digest("sha1", chunk(0))}`);
    await ok.body?.cancel();
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("Upload-Offset"), "4096");

    // Mismatch: 460, nothing appended (HEAD and the part unchanged).
    await expectError(
      server,
      "PATCH with a wrong sha256",
      checksummed(4096, chunk(1), `sha256 ${b64digest("sha256", chunk(2))}`),
      460,
      "CHECKSUM_MISMATCH",
    );
    assert.equal(await offsetOf(up.location, session.token), 4096, "HEAD offset unchanged");
    assert.equal((await Deno.stat(`${server.uploadsDir}/.parts/${up.id}`)).size, 4096);

    // Unknown algorithm: 400 CHECKSUM_UNSUPPORTED; a digest that is not base64: 400.
    for (const checksum of [`crc32 ${b64digest("md5", chunk(1))}`, "sha512 AAAA", "nonsense"]) {
      await expectError(
        server,
        `PATCH with Upload-Checksum "${checksum}"`,
        checksummed(4096, chunk(1), checksum),
        400,
        "CHECKSUM_UNSUPPORTED",
      );
    }
    await expectError(
      server,
      "PATCH with a digest that is not base64",
      checksummed(4096, chunk(1), "sha256 !!!not-base64!!!"),
      400,
      "INVALID_REQUEST",
    );
    assert.equal(await offsetOf(up.location, session.token), 4096);

    const md5 = await checksummed(4096, chunk(1), `md5 ${b64digest("md5", chunk(1))}`);
    await md5.body?.cancel();
    assert.equal(md5.status, 204);
    const last = await checksummed(8192, chunk(2), `sha256 ${b64digest("sha256", chunk(2))}`);
    await last.body?.cancel();
    assert.equal(last.status, 204);
    assert.equal(last.headers.get("Upload-Offset"), String(source.length));
  }));

Deno.test("bad input: sizes over the limits get 413, nothing appended past the length", () =>
  scoped(async (scope) => {
    const f = await fixture(scope, { H5_MAX_FILE_SIZE: "3GiB" });
    const { server, session } = f;

    const options = await fetch(server.tusEndpoint, { method: "OPTIONS" });
    await options.body?.cancel();
    assert.equal(options.headers.get("Tus-Max-Size"), String(3 * GiB));

    await expectError(
      server,
      "Upload-Length over Tus-Max-Size",
      creation(f, uploadHeaders(f, 3 * GiB + 1)),
      413,
      "FILE_TOO_LARGE",
    );
    await expectError(
      server,
      "Upload-Length over the personal category's 2 GiB",
      creation(f, uploadHeaders(f, 2 * GiB + 1)),
      413,
      "FILE_TOO_LARGE",
    );

    const source = fileBytes(1000);
    const up = await createUpload(server.url, session, { size: source.length });
    await expectError(
      server,
      "PATCH with a body longer than the upload",
      fetch(up.location, {
        method: "PATCH",
        headers: { ...TUS, ...bearer(session.token), "Content-Type": OCTET, "Upload-Offset": "0" },
        body: fileBytes(1001),
      }),
      413,
      "FILE_TOO_LARGE",
    );
    assert.equal(await offsetOf(up.location, session.token), 0);
    assert.equal((await patch(up.location, session.token, 0, source)).status, 204);
  }));

Deno.test("bad input: a terminated upload is gone (404/410), a download before the end 409", () =>
  scoped(async (scope) => {
    const f = await fixture(scope);
    const { server, session } = f;
    const source = fileBytes(2000);
    const up = await createUpload(server.url, session, { size: source.length });
    assert.equal((await patch(up.location, session.token, 0, source.slice(0, 1000))).status, 204);

    await expectError(
      server,
      "GET of an unfinished upload",
      fetch(up.location, { headers: bearer(session.token) }),
      409,
      "UPLOAD_NOT_STARTED",
    );

    const del = await fetch(up.location, {
      method: "DELETE",
      headers: { ...TUS, ...bearer(session.token) },
    });
    await del.body?.cancel();
    assert.equal(del.status, 204);
    assert.equal(await exists(`${server.uploadsDir}/.parts/${up.id}`), false, "part removed");

    const goneHead = await fetch(up.location, {
      method: "HEAD",
      headers: { ...TUS, ...bearer(session.token) },
    });
    await goneHead.body?.cancel();
    assert.ok([404, 410].includes(goneHead.status), `HEAD after termination: ${goneHead.status}`);
    await assertServing(server, "HEAD after termination");
    for (
      const [what, request] of [
        [
          "PATCH after termination",
          () => patch(up.location, session.token, 1000, source.slice(1000)),
        ],
        [
          "DELETE after termination",
          () =>
            fetch(up.location, { method: "DELETE", headers: { ...TUS, ...bearer(session.token) } }),
        ],
      ] as const
    ) {
      const res = await request();
      const status = res instanceof Response ? (await res.body?.cancel(), res.status) : res.status;
      assert.ok([404, 410].includes(status), `${what}: ${status}`);
      await assertServing(server, what);
    }

    await expectError(
      server,
      "HEAD of an upload that never existed",
      fetch(`${server.tusEndpoint}/no-such-upload`, {
        headers: { ...TUS, ...bearer(session.token) },
      }),
      404,
      "FILE_NOT_FOUND",
    );
  }));

Deno.test("bad input: the sessions API (bad JSON, unknown category, cancelled session)", () =>
  scoped(async (scope) => {
    const f = await fixture(scope);
    const { server, session } = f;
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/sessions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body,
      });

    for (
      const [what, body] of [
        ["bad JSON", "{category: personal"],
        ["an empty body", ""],
        ["a JSON array", "[]"],
        ["an unknown category", JSON.stringify({ category: "holiday", clientType: "web" })],
        ["no category", JSON.stringify({ clientType: "web" })],
        ["an unknown clientType", JSON.stringify({ category: "personal", clientType: "fax" })],
      ] as const
    ) {
      await expectError(
        server,
        `POST /api/sessions with ${what}`,
        post(body),
        400,
        "INVALID_REQUEST",
      );
    }

    await expectError(
      server,
      "POST /api/sessions with a body over 16 KiB",
      post(JSON.stringify({ category: "personal", pad: "x".repeat(17_000) })),
      413,
      "REQUEST_TOO_LARGE",
    );

    // A cancelled session takes no more uploads.
    const cancel = await fetch(`${server.url}/api/sessions/${session.sessionId}`, {
      method: "DELETE",
      headers: bearer(session.token),
    });
    const snapshot = await cancel.json();
    assert.equal(cancel.status, 200);
    assert.equal(snapshot.overallStatus, "cancelled");
    await expectError(
      server,
      "creating an upload in a cancelled session",
      creation(f, uploadHeaders(f, 100)),
      409,
      "SESSION_CLOSED",
    );
  }));

Deno.test("bad input: missing, forged and foreign tokens get 403", () =>
  scoped(async (scope) => {
    const f = await fixture(scope);
    const { server, session } = f;
    const other = await createSession(server.url);
    const up = await createUpload(server.url, session, { size: 100 });
    const [payload, signature] = session.token.split(".");
    const forgedTokens = [
      "forged",
      `${session.token}x`,
      // The other session's signature on this session's claims, and the reverse.
      `${payload}.${other.token.split(".")[1]}`,
      `${other.token.split(".")[0]}.${signature}`,
    ];

    for (const token of forgedTokens) {
      await expectError(
        server,
        `POST /api/uploads with token ${token.slice(0, 16)}…`,
        creation(f, { ...uploadHeaders(f, 100), ...bearer(token) }),
        403,
        "INSUFFICIENT_PERMISSIONS",
      );
      await expectError(
        server,
        `GET /api/sessions/:id with token ${token.slice(0, 16)}…`,
        fetch(`${server.url}/api/sessions/${session.sessionId}`, { headers: bearer(token) }),
        403,
        "INSUFFICIENT_PERMISSIONS",
      );
      await expectError(
        server,
        `PATCH with token ${token.slice(0, 16)}…`,
        fetch(up.location, {
          method: "PATCH",
          headers: { ...TUS, ...bearer(token), "Content-Type": OCTET, "Upload-Offset": "0" },
          body: fileBytes(100),
        }),
        403,
        "INSUFFICIENT_PERMISSIONS",
      );
    }

    // No token at all (anonymous uploads are off by default).
    const { Authorization: _, ...anonymous } = uploadHeaders(f, 100);
    await expectError(
      server,
      "POST without a token",
      creation(f, anonymous),
      403,
      "INSUFFICIENT_PERMISSIONS",
    );
    await expectError(
      server,
      "GET /api/sessions/:id without a token",
      fetch(`${server.url}/api/sessions/${session.sessionId}`),
      403,
      "INSUFFICIENT_PERMISSIONS",
    );

    // A valid token of another session: not this session's uploads, sessions or metadata.
    await expectError(
      server,
      "PATCH with another session's token",
      fetch(up.location, {
        method: "PATCH",
        headers: { ...TUS, ...bearer(other.token), "Content-Type": OCTET, "Upload-Offset": "0" },
        body: fileBytes(100),
      }),
      403,
      "INSUFFICIENT_PERMISSIONS",
    );
    await expectError(
      server,
      "GET /api/sessions/:id with another session's token",
      fetch(`${server.url}/api/sessions/${session.sessionId}`, { headers: bearer(other.token) }),
      403,
      "INSUFFICIENT_PERMISSIONS",
    );
    await expectError(
      server,
      "POST naming another session in Upload-Metadata",
      creation(f, { ...uploadHeaders(f, 100), ...bearer(other.token) }),
      403,
      "INSUFFICIENT_PERMISSIONS",
    );
    assert.equal(await offsetOf(up.location, session.token), 0, "nothing appended");
  }));

Deno.test("bad input: file types and the per-session file limit", () =>
  scoped(async (scope) => {
    const f = await fixture(scope, { H5_PERSONAL_MAX_FILES: "2" });
    const { server, session } = f;
    await expectError(
      server,
      "a declared text/plain file in the personal category",
      creation(f, {
        ...uploadHeaders(f, 100),
        "Upload-Metadata": metadata({ filename: "notes.txt", filetype: "text/plain" }),
      }),
      415,
      "FILE_TYPE_NOT_ALLOWED",
    );

    // Declared a JPEG, but the first bytes are text: refused once the server sniffed them.
    const text = new TextEncoder().encode("this is not a picture at all, just text\n".repeat(100));
    const liar = await createUpload(server.url, session, { size: text.length });
    const answer = await patch(liar.location, session.token, 0, text.slice());
    assert.equal(answer.status, 415, JSON.stringify(answer.error));
    assert.equal(answer.error?.code, "FILE_TYPE_NOT_ALLOWED");
    await assertServing(server, "a sniffed type mismatch");
    assert.equal(await exists(`${server.uploadsDir}/.parts/${liar.id}`), false, "bytes dropped");

    // Two files per session are allowed here, a third is not.
    const fresh = { server, session: await createSession(server.url) };
    await createUpload(server.url, fresh.session, { size: 10 });
    await createUpload(server.url, fresh.session, { size: 10 });
    await expectError(
      server,
      "a third file when the limit is 2",
      creation(fresh, uploadHeaders(fresh, 10)),
      409,
      "TOO_MANY_FILES",
    );
  }));

Deno.test("bad input: origins (403 ORIGIN_NOT_ALLOWED; allowed origin and preflight get CORS)", () =>
  scoped(async (scope) => {
    const shop = "https://shop.example";
    const evil = "https://evil.example";
    const f = await fixture(scope, { H5_ALLOWED_ORIGINS: shop });
    const { server, session } = f;

    await expectError(
      server,
      "POST /api/sessions from a disallowed origin",
      fetch(`${server.url}/api/sessions`, {
        method: "POST",
        headers: { Origin: evil, "Content-Type": "application/json" },
        body: JSON.stringify({ category: "personal", clientType: "web" }),
      }),
      403,
      "ORIGIN_NOT_ALLOWED",
    );
    await expectError(
      server,
      "tus POST from a disallowed origin",
      creation(f, { ...uploadHeaders(f, 10), Origin: evil }),
      403,
      "ORIGIN_NOT_ALLOWED",
    );
    await expectError(
      server,
      "a preflight from a disallowed origin",
      fetch(server.tusEndpoint, {
        method: "OPTIONS",
        headers: { Origin: evil, "Access-Control-Request-Method": "POST" },
      }),
      403,
      "ORIGIN_NOT_ALLOWED",
    );
    await expectError(
      server,
      "a Socket.IO handshake from a disallowed origin",
      fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: evil } }),
      403,
      "ORIGIN_NOT_ALLOWED",
    );

    // The allowed origin: a real answer with CORS headers.
    const created = await fetch(`${server.url}/api/sessions`, {
      method: "POST",
      headers: { Origin: shop, "Content-Type": "application/json" },
      body: JSON.stringify({ category: "personal", clientType: "web" }),
    });
    await created.body?.cancel();
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("Access-Control-Allow-Origin"), shop);

    const up = await createUpload(server.url, session, { size: 10 });
    const headed = await fetch(up.location, {
      method: "HEAD",
      headers: { ...TUS, ...bearer(session.token), Origin: shop },
    });
    await headed.body?.cancel();
    assert.equal(headed.status, 200);
    assert.equal(headed.headers.get("Access-Control-Allow-Origin"), shop);
    const exposedOnHead = (headed.headers.get("Access-Control-Expose-Headers") ?? "").toLowerCase();
    assert.ok(exposedOnHead.includes("upload-offset"), `HEAD exposes: ${exposedOnHead}`);

    // The preflight of a tus PATCH and of a creation.
    for (const method of ["PATCH", "POST"]) {
      const preflight = await fetch(method === "PATCH" ? up.location : server.tusEndpoint, {
        method: "OPTIONS",
        headers: {
          Origin: shop,
          "Access-Control-Request-Method": method,
          "Access-Control-Request-Headers":
            "authorization,content-type,tus-resumable,upload-offset,upload-length,upload-metadata",
        },
      });
      await preflight.body?.cancel();
      assert.ok(preflight.status === 200 || preflight.status === 204, `${method} preflight status`);
      assert.equal(preflight.headers.get("Access-Control-Allow-Origin"), shop);
      const methods = (preflight.headers.get("Access-Control-Allow-Methods") ?? "").toUpperCase();
      assert.ok(methods.includes(method), `${method} preflight allows ${methods}`);
      const allowed = (preflight.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase();
      for (const h of ["authorization", "tus-resumable", "upload-offset", "upload-metadata"]) {
        assert.ok(allowed.includes(h), `${method} preflight allows header ${h}: ${allowed}`);
      }
      const exposed = (preflight.headers.get("Access-Control-Expose-Headers") ?? "").toLowerCase();
      for (const h of ["upload-offset", "location"]) {
        assert.ok(exposed.includes(h), `${method} preflight exposes ${h}: "${exposed}"`);
      }
      await assertServing(server, `${method} preflight`);
    }
  }));

Deno.test("bad input: path traversal in upload ids and names creates nothing outside", () =>
  scoped(async (scope) => {
    const root = await Deno.makeTempDir({ prefix: "h5-e2e-traversal-" });
    scope.defer("remove the traversal root", () => Deno.remove(root, { recursive: true }));
    const dataDir = `${root}/data`;
    await Deno.mkdir(dataDir);
    const server = await startTestServer({ dataDir, scope });
    const session = await createSession(server.url);
    const f = { server, session };
    const auth = bearer(session.token);
    const before = await listTree(dataDir);

    const ids = [
      "..%2F..%2Fetc%2Fpasswd",
      "..%2F..%2F..%2Fescaped",
      "%2E%2E%2F%2E%2E%2Fescaped",
      "..%5C..%5Cescaped",
      "%2Fetc%2Fpasswd",
      "..",
      ".parts",
      "a%00b",
    ];
    for (const id of ids) {
      const url = `${server.tusEndpoint}/${id}`;
      for (
        const [method, init] of [
          ["HEAD", { method: "HEAD", headers: { ...TUS, ...auth } }],
          [
            "PATCH",
            {
              method: "PATCH",
              headers: { ...TUS, ...auth, "Content-Type": OCTET, "Upload-Offset": "0" },
              body: fileBytes(64),
            },
          ],
          ["DELETE", { method: "DELETE", headers: { ...TUS, ...auth } }],
          ["GET", { headers: auth }],
        ] as const
      ) {
        // "/api/uploads/.." is normalised by the URL parser to "/api/": no such route.
        const code = new URL(url).pathname.startsWith("/api/uploads/")
          ? "FILE_NOT_FOUND"
          : "NOT_FOUND";
        const res = await fetch(url, init);
        const text = await res.text();
        assert.equal(res.status, 404, `${method} /api/uploads/${id}: ${res.status} ${text}`);
        if (method !== "HEAD") {
          assert.equal(JSON.parse(text).error.code, code, `${method} /api/uploads/${id}`);
        }
        await assertServing(server, `${method} /api/uploads/${id}`);
      }
    }

    // An upload id chosen through metadata (fileId) must be a plain name.
    for (const fileId of ["../../escaped", "..", "a/b", ".hidden", "x".repeat(65)]) {
      await expectError(
        server,
        `POST with fileId "${fileId.slice(0, 20)}"`,
        creation(f, {
          ...uploadHeaders(f, 10),
          "Upload-Metadata": metadata({
            filename: "photo.jpg",
            filetype: "image/jpeg",
            fileId,
          }),
        }),
        400,
        "INVALID_REQUEST",
      );
    }

    // A hostile filename is only a label: the stored path is the server's own.
    const source = fileBytes(5000);
    const evil = await createUpload(server.url, session, {
      size: source.length,
      filename: "../../../../escaped.jpg",
    });
    assert.equal((await patch(evil.location, session.token, 0, source)).status, 204);
    const after = await listTree(dataDir);
    const added = after.filter((p) => !before.includes(p));
    assert.ok(
      added.every((p) =>
        p.startsWith("uploads/") || p === "state.db" || p.startsWith("state.db-") || p === "secret"
      ),
      `unexpected files: ${added}`,
    );
    const stored = added.filter((p) => p.endsWith(".jpg"));
    assert.equal(stored.length, 1, `one stored file: ${stored}`);
    assert.match(
      stored[0]!,
      new RegExp(`^uploads/personal/\\d{4}/\\d{2}/\\d{2}/${evil.id}\\.jpg$`),
    );
    assert.equal(
      await sha256Hex(await Deno.readFile(`${dataDir}/${stored[0]}`)),
      await sha256Hex(source),
    );
    assert.deepEqual(await listTree(root), ["data/", ...after.map((p) => `data/${p}`)].sort());
    assert.equal(await exists(`${root}/escaped`), false);
    assert.equal(await exists(`${root}/escaped.jpg`), false);
  }));

Deno.test("bad input: too many sessions from one address get 429 RATE_LIMIT_EXCEEDED", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const create = () =>
      fetch(`${server.url}/api/sessions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ category: "scenic", clientType: "mobile" }),
      });
    let created = 0;
    let refused: Response | null = null;
    for (let i = 0; i < 200 && refused === null; i++) {
      const res = await create();
      if (res.status === 201) {
        created++;
        await res.body?.cancel();
      } else {
        refused = res;
      }
    }
    assert.ok(refused, "no session creation was refused");
    assert.ok(created >= 10, `only ${created} sessions before the limit`);
    const headers = await expectError(
      server,
      "a session over the rate limit",
      Promise.resolve(refused),
      429,
      "RATE_LIMIT_EXCEEDED",
    );
    assert.ok(headers.get("Retry-After"), "429 carries Retry-After");
  }));
