/**
 * Malformed input at every point of entry (issue #7, item 7), over real HTTP, raw TCP and a
 * real Socket.IO client against a real server: each answer is a 4xx with its code, nothing
 * is logged as an error for it, and the server keeps serving. A 5xx is always logged.
 */
import { prng } from "../server/testing/prng.ts";
import assert from "node:assert/strict";
import { type ErrorCode, isErrorCode } from "../protocol/errors.ts";
import type { CreateSessionResponse } from "../protocol/session.ts";
import { b64, fileBytes, metadata } from "../server/testing/harness.ts";
import { captureErrors, type ErrorLog } from "./support/console.ts";
import {
  bearer,
  createSession,
  createUpload,
  listTree,
  OCTET,
  patch,
  TUS,
} from "./support/http.ts";
import { type RawAnswer, rawRequest } from "./support/raw_http.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { closeSocket, connectWatcher, refusedConnection } from "./support/socket.ts";
import { within } from "./support/deadline.ts";

interface Ctx {
  server: TestServer;
  session: CreateSessionResponse;
  log: ErrorLog;
}

async function setup(scope: Scope, env: Record<string, string> = {}): Promise<Ctx> {
  const server = await startTestServer({ env, scope });
  const session = await createSession(server.url);
  // Installed after startup: what is logged from here on answers a request of the test.
  const log = captureErrors(scope);
  return { server, session, log };
}

/** The answer must be `status` with a JSON error `code`, logged nothing, and /healthz works. */
async function expectError(
  ctx: Ctx,
  what: string,
  answer: Promise<Response> | Response,
  status: number,
  code: ErrorCode,
): Promise<Headers> {
  const res = await answer;
  const text = await res.text();
  assert.equal(res.status, status, `${what}: status (body ${text.slice(0, 200)})`);
  assert.equal(JSON.parse(text).error?.code, code, `${what}: code`);
  ctx.log.assertNone(what);
  const health = await fetch(`${ctx.server.url}/healthz`);
  assert.equal(health.status, 200, `/healthz after ${what}`);
  await health.body?.cancel();
  return res.headers;
}

/** A raw answer that must be a 4xx; when it has a JSON body, its code must be a known one. */
function expectClientError(ctx: Ctx, what: string, answer: RawAnswer): ErrorCode | null {
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `${what}: expected a 4xx, got ${answer.status} ${answer.body.slice(0, 200)}`,
  );
  ctx.log.assertNone(what);
  const json = answer.headers.get("content-type")?.startsWith("application/json");
  if (!json || answer.body === "") return null;
  const code = JSON.parse(answer.body).error?.code;
  assert.ok(isErrorCode(code), `${what}: unknown code ${code}`);
  return code;
}

function uploadHeaders(ctx: Ctx, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...TUS,
    ...bearer(ctx.session.token),
    "Upload-Length": "100",
    "Upload-Metadata": metadata({ filename: "photo.jpg", filetype: "image/jpeg" }),
    ...extra,
  };
}

const BAD_TOKENS = [
  "a.1.y", // atob throws on a length of 4n+1: this one reached a 500
  "a.1.yyyyy",
  "a.1.",
  "..",
  ".1.y",
  "a.1.y=",
  "a.1.y%",
  "a.99999999999999.yy",
  `a.1.${"y".repeat(43)}`, // the right length, the wrong MAC
  `a.1.${"y".repeat(44)}`,
  "a.b.c.d",
  "x".repeat(8000),
];

Deno.test("malformed input: a token that is no token (a.1.y) is 403 on every route, never logged", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { server, session } = ctx;
    const up = await createUpload(server.url, session, { size: 1000 });
    const sessionUrl = `${server.url}/api/sessions/${session.sessionId}`;
    for (const token of BAD_TOKENS) {
      const auth = { Authorization: `Bearer ${token}` };
      const requests: [string, () => Promise<Response>][] = [
        [
          "POST",
          () => fetch(server.tusEndpoint, { method: "POST", headers: uploadHeaders(ctx, auth) }),
        ],
        ["HEAD", () => fetch(up.location, { method: "HEAD", headers: { ...TUS, ...auth } })],
        [
          "PATCH",
          () =>
            fetch(up.location, {
              method: "PATCH",
              headers: { ...TUS, ...auth, "Content-Type": OCTET, "Upload-Offset": "0" },
              body: fileBytes(10),
            }),
        ],
        ["DELETE", () => fetch(up.location, { method: "DELETE", headers: { ...TUS, ...auth } })],
        ["GET", () => fetch(up.location, { headers: auth })],
        ["GET session", () => fetch(sessionUrl, { headers: auth })],
        ["DELETE session", () => fetch(sessionUrl, { method: "DELETE", headers: auth })],
      ];
      for (const [what, request] of requests) {
        const name = `${what} with Bearer ${token.slice(0, 20)}`;
        const res = await request();
        if (what === "HEAD") {
          // A HEAD answer has no body to carry the code.
          await res.body?.cancel();
          assert.equal(res.status, 403, name);
          ctx.log.assertNone(name);
        } else {
          await expectError(ctx, name, res, 403, "INSUFFICIENT_PERMISSIONS");
        }
      }
    }
    // Nothing was touched by all that: the upload is still there at offset 0.
    const head = await fetch(up.location, {
      method: "HEAD",
      headers: { ...TUS, ...bearer(session.token) },
    });
    await head.body?.cancel();
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("Upload-Offset"), "0");
  }));

Deno.test("malformed input: a.1.y at the Socket.IO login (handshake and join-session) is 403, never logged", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { server, session } = ctx;
    for (const token of BAD_TOKENS) {
      const error = await refusedConnection(server.url, { sessionId: session.sessionId, token });
      assert.equal(
        error.data?.code,
        "INSUFFICIENT_PERMISSIONS",
        `handshake with ${token.slice(0, 20)}`,
      );
      ctx.log.assertNone(`handshake with ${token.slice(0, 20)}`);
    }
    const other = await createSession(server.url);
    const watcher = await connectWatcher(server.url, {
      sessionId: session.sessionId,
      token: session.token,
      scope,
    });
    for (const token of BAD_TOKENS.filter((t) => t.length <= 4096)) {
      const ack = await within(
        watcher.socket.emitWithAck("join-session", { sessionId: other.sessionId, token } as never),
        "the join-session ack",
      ) as { ok: boolean; error?: { code: string } };
      assert.equal(ack.ok, false);
      assert.equal(ack.error?.code, "INSUFFICIENT_PERMISSIONS", `join-session with ${token}`);
      ctx.log.assertNone(`join-session with ${token}`);
    }
    await closeSocket(watcher.socket);
  }));

Deno.test("malformed input: a broken Upload-Concat (final;/x/%E0%A4%A) is 400 INVALID_REQUEST", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const cases: [string, number, ErrorCode][] = [
      ["final;/x/%E0%A4%A", 400, "INVALID_REQUEST"],
      ["final;%", 400, "INVALID_REQUEST"],
      ["final;/api/uploads/%ZZ", 400, "INVALID_REQUEST"],
      ["final;http://h/api/uploads/%C0%AF", 400, "INVALID_REQUEST"],
      ["final;/api/uploads/ok %E0%A4%A", 400, "INVALID_REQUEST"],
      ["final;", 400, "INVALID_REQUEST"],
      ["final", 400, "INVALID_REQUEST"],
      ["partial;x", 400, "INVALID_REQUEST"],
      ["whole", 400, "INVALID_REQUEST"],
      [`final;${"/x".repeat(3000)}`, 404, "FILE_NOT_FOUND"],
    ];
    for (const [value, status, code] of cases) {
      const headers = uploadHeaders(ctx, { "Upload-Concat": value });
      if (value.startsWith("final")) delete headers["Upload-Length"];
      await expectError(
        ctx,
        `Upload-Concat ${value.slice(0, 40)}`,
        fetch(ctx.server.tusEndpoint, { method: "POST", headers }),
        status,
        code,
      );
    }
  }));

const BAD_TYPES = [
  "text/html\r\nX-Injected: 1",
  "text/html\nX: y",
  "image/jpeg\r",
  "image/jpeg\u0000",
  "image/jpeg\u007f",
  "image/jpeg\u0085",
  "image/\u00e9",
  "image",
  "image/",
  "/jpeg",
  "image/jpeg/x",
  "image jpeg",
  'image/jpeg; charset="x',
  `image/${"x".repeat(300)}`,
];

for (const anonymous of [false, true]) {
  Deno.test(`malformed input: a filetype that is no media type (CR/LF, controls) is 400 at creation${anonymous ? " (anonymous)" : ""}`, () =>
    scoped(async (scope) => {
      const ctx = await setup(scope, anonymous ? { H5_ALLOW_ANONYMOUS: "true" } : {});
      const auth: Record<string, string> = anonymous ? {} : bearer(ctx.session.token);
      for (const [key, value] of BAD_TYPES.flatMap((t) => [["filetype", t], ["type", t]])) {
        const headers = {
          ...TUS,
          ...auth,
          "Upload-Length": "4",
          "Upload-Metadata": `filename ${b64("photo.jpg")},${key} ${b64(value!)}`,
        };
        await expectError(
          ctx,
          `${key} ${JSON.stringify(value).slice(0, 40)}`,
          fetch(ctx.server.tusEndpoint, { method: "POST", headers }),
          400,
          "INVALID_REQUEST",
        );
      }
      // Nothing was created by the refused requests.
      const parts = (await listTree(ctx.server.uploadsDir)).filter((p) => p.startsWith(".parts/"));
      assert.deepEqual(parts, []);
      // A type with parameters is a media type, and the upload downloads fine.
      const ok = await fetch(ctx.server.tusEndpoint, {
        method: "POST",
        headers: {
          ...TUS,
          ...auth,
          "Upload-Length": "12",
          "Content-Type": OCTET,
          "Upload-Metadata": metadata({ filename: "p.jpg", filetype: 'image/jpeg; q="a b"' }),
        },
        body: fileBytes(12),
      });
      await ok.body?.cancel();
      assert.equal(ok.status, 201);
      const download = await fetch(ok.headers.get("Location")!, { headers: auth });
      assert.equal(download.status, 200);
      assert.deepEqual(new Uint8Array(await download.arrayBuffer()), fileBytes(12));
      ctx.log.assertNone("the good upload");
    }));
}

const NASTY = [
  "\t",
  " ",
  ",",
  ";",
  "=",
  "%",
  "%E0%A4%A",
  "%ZZ",
  "%00",
  "-",
  "+",
  "/",
  "_",
  ".",
  "0",
  "9",
  "-1",
  "1e3",
  "0x1",
  "99999999999999999999",
  "18446744073709551616",
  "\u0001",
  "\u007f",
  "é",
  "\u00ff",
  "a",
  "Zm9v",
  "====",
  "sha1",
  "md5",
  "final;",
  "partial",
  "Bearer ",
];

/** A header value built from `NASTY` pieces, sometimes huge. */
function fuzzValue(random: () => number): string {
  const pieces = 1 + Math.floor(random() * 6);
  let out = "";
  for (let i = 0; i < pieces; i++) out += NASTY[Math.floor(random() * NASTY.length)];
  if (random() < 0.05) out = out.repeat(2000).slice(0, 12_000);
  return out;
}

/** Random bytes of a few lengths, base64: what a metadata value decodes to is arbitrary. */
function fuzzBase64(random: () => number): string {
  const bytes = Array.from({ length: Math.floor(random() * 12) }, () => {
    const pick = random();
    // Mostly printable, with CR, LF, NUL and DEL mixed in.
    return pick < 0.2
      ? [13, 10, 0, 127][Math.floor(random() * 4)]!
      : 32 + Math.floor(random() * 95);
  });
  return btoa(String.fromCharCode(...bytes));
}

/** Half the time a value shaped like the header's grammar, with fuzzed parts. */
function fuzzFor(header: string, random: () => number): string {
  if (random() < 0.5) return fuzzValue(random);
  const v = () => fuzzValue(random).replace(/\s/g, "");
  switch (header) {
    case "Authorization":
      return `Bearer ${v()}.${Math.floor(random() * 1e6)}.${v()}`;
    case "Upload-Concat":
      return `final;/api/uploads/${v()} ${v()}`;
    case "Upload-Metadata":
      return `filename ${fuzzBase64(random)},filetype ${fuzzBase64(random)}`;
    case "Upload-Checksum":
      return `sha1 ${v()}`;
    case "Range":
      return `bytes=${v()}-${v()}`;
    default:
      return v();
  }
}

Deno.test("malformed input: fuzzed tus headers over raw TCP never reach a 5xx or the error log", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope, { H5_ALLOW_ANONYMOUS: "true" });
    const { server, session } = ctx;
    const up = await createUpload(server.url, session, { size: 1000 });
    let path = new URL(up.location).pathname;
    const random = prng(0x5eed);
    const headers = [
      "Tus-Resumable",
      "Upload-Length",
      "Upload-Offset",
      "Upload-Defer-Length",
      "Upload-Metadata",
      "Upload-Checksum",
      "Upload-Concat",
      "Content-Type",
      "Authorization",
      "X-HTTP-Method-Override",
      "Range",
    ];
    const host = `Host: ${new URL(server.url).host}`;
    const base: Record<string, string> = {
      "Tus-Resumable": "1.0.0",
      Authorization: `Bearer ${session.token}`,
    };
    let requests = 0;
    for (const method of ["POST", "PATCH", "HEAD", "DELETE", "GET"]) {
      for (const header of headers) {
        for (let round = 0; round < 6; round++) {
          const value = fuzzFor(header, random);
          const fields: Record<string, string> = {
            ...base,
            "Upload-Length": "10",
            "Upload-Offset": "0",
            "Content-Type": OCTET,
            [header]: value,
          };
          const target = method === "POST" ? "/api/uploads" : path;
          // No body: a server that refuses before reading one resets the connection (unread
          // bytes make the kernel send RST), which can swallow its answer.
          const body = new Uint8Array();
          const lines = [
            `${method} ${target} HTTP/1.1`,
            host,
            ...Object.entries(fields).map(([k, v]) => `${k}: ${v}`),
            `Content-Length: ${body.length}`,
          ];
          const what = `${method} ${header}: ${JSON.stringify(value.slice(0, 60))}`;
          const answer = await rawRequest(server.url, lines, body);
          requests++;
          // A fuzzed value may also be harmless (a DELETE with a good token works).
          if (answer.status < 400) {
            ctx.log.assertNone(what);
            if (method === "DELETE" && answer.status === 204) {
              path = new URL((await createUpload(server.url, session, { size: 1000 })).location)
                .pathname;
            }
            continue;
          }
          expectClientError(ctx, what, answer);
        }
      }
    }
    assert.ok(requests >= 300);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  }));

Deno.test("malformed input: duplicate, malformed and overflowing headers and ids get 4xx with codes", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { server, session } = ctx;
    const up = await createUpload(server.url, session, { size: 10 });
    const path = new URL(up.location).pathname;
    const host = `Host: ${new URL(server.url).host}`;
    const auth = `Authorization: Bearer ${session.token}`;
    const create = (...extra: string[]) => [
      "POST /api/uploads HTTP/1.1",
      host,
      "Tus-Resumable: 1.0.0",
      `Upload-Metadata: filename ${b64("a.jpg")},filetype ${b64("image/jpeg")}`,
      "Content-Length: 0",
      ...extra,
    ];
    const patchLines = (...extra: string[]) => [
      `PATCH ${path} HTTP/1.1`,
      host,
      "Tus-Resumable: 1.0.0",
      `Content-Type: ${OCTET}`,
      "Content-Length: 0",
      ...extra,
    ];
    const cases: [string, string[], number, ErrorCode][] = [
      [
        "two Authorization",
        create(auth, auth, "Upload-Length: 5"),
        403,
        "INSUFFICIENT_PERMISSIONS",
      ],
      [
        "two Upload-Length",
        create(auth, "Upload-Length: 5", "Upload-Length: 5"),
        400,
        "INVALID_REQUEST",
      ],
      ["Upload-Length -1", create(auth, "Upload-Length: -1"), 400, "INVALID_REQUEST"],
      ["Upload-Length 1e3", create(auth, "Upload-Length: 1e3"), 400, "INVALID_REQUEST"],
      [
        "Upload-Length 2^64",
        create(auth, "Upload-Length: 18446744073709551616"),
        400,
        "INVALID_REQUEST",
      ],
      [
        "Upload-Length 2^53+1",
        create(auth, "Upload-Length: 9007199254740993"),
        400,
        "INVALID_REQUEST",
      ],
      ["Upload-Length 0x10", create(auth, "Upload-Length: 0x10"), 400, "INVALID_REQUEST"],
      ["Upload-Defer-Length 2", create(auth, "Upload-Defer-Length: 2"), 400, "INVALID_REQUEST"],
      [
        "two Tus-Resumable",
        create(auth, "Tus-Resumable: 1.0.0", "Upload-Length: 5"),
        412,
        "TUS_VERSION_UNSUPPORTED",
      ],
      [
        "two Upload-Concat",
        create(auth, "Upload-Concat: partial", "Upload-Concat: partial", "Upload-Length: 5"),
        400,
        "INVALID_REQUEST",
      ],
      [
        "metadata not base64",
        create(auth, "Upload-Length: 5", "Upload-Metadata: filename @@@"),
        400,
        "INVALID_REQUEST",
      ],
      [
        "metadata not UTF-8",
        create(auth, "Upload-Length: 5", `Upload-Metadata: filename ${btoa("\xff\xfe")}`),
        400,
        "INVALID_REQUEST",
      ],
      [
        "metadata 4n+1 base64",
        create(auth, "Upload-Length: 5", "Upload-Metadata: filename a"),
        400,
        "INVALID_REQUEST",
      ],
      [
        "metadata over 8 KiB",
        create(auth, "Upload-Length: 5", `Upload-Metadata: note ${"QUFB".repeat(2100)}`),
        400,
        "INVALID_REQUEST",
      ],
      [
        "two Upload-Offset",
        patchLines(auth, "Upload-Offset: 0", "Upload-Offset: 0"),
        400,
        "INVALID_REQUEST",
      ],
      ["Upload-Offset -1", patchLines(auth, "Upload-Offset: -1"), 400, "INVALID_REQUEST"],
      [
        "Upload-Offset 2^64",
        patchLines(auth, "Upload-Offset: 18446744073709551616"),
        400,
        "INVALID_REQUEST",
      ],
      [
        "Upload-Checksum 4n+1 digest",
        patchLines(auth, "Upload-Offset: 0", "Upload-Checksum: sha1 a"),
        400,
        "INVALID_REQUEST",
      ],
      [
        "Upload-Checksum no digest",
        patchLines(auth, "Upload-Offset: 0", "Upload-Checksum: sha1"),
        400,
        "INVALID_REQUEST",
      ],
      [
        "Upload-Checksum odd algorithm",
        patchLines(auth, "Upload-Offset: 0", "Upload-Checksum: crc32 AAAA"),
        400,
        "CHECKSUM_UNSUPPORTED",
      ],
      [
        "two Content-Type",
        patchLines(auth, "Upload-Offset: 0", `Content-Type: ${OCTET}`),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      ],
      [
        "upload id %E0%A4%A",
        [`HEAD /api/uploads/%E0%A4%A HTTP/1.1`, host, "Tus-Resumable: 1.0.0", auth],
        404,
        "FILE_NOT_FOUND",
      ],
      [
        "upload id %00",
        [`DELETE /api/uploads/%00 HTTP/1.1`, host, "Tus-Resumable: 1.0.0", auth],
        404,
        "FILE_NOT_FOUND",
      ],
      [
        "upload id of 300 chars",
        [`DELETE /api/uploads/${"a".repeat(300)} HTTP/1.1`, host, "Tus-Resumable: 1.0.0", auth],
        404,
        "FILE_NOT_FOUND",
      ],
      [
        "session id %E0%A4%A",
        [`GET /api/sessions/%E0%A4%A HTTP/1.1`, host, auth],
        403,
        "INSUFFICIENT_PERMISSIONS",
      ],
    ];
    for (const [what, lines, status, code] of cases) {
      const answer = await rawRequest(server.url, lines);
      assert.equal(answer.status, status, `${what}: status (${answer.body.slice(0, 200)})`);
      if (!lines[0]!.startsWith("HEAD")) {
        assert.equal(JSON.parse(answer.body).error?.code, code, `${what}: code`);
      }
      ctx.log.assertNone(what);
    }

    // Huge values: ours answer with a code; past Deno's header limit, its own 400 (no body).
    for (const size of [10_000, 100_000]) {
      for (
        const field of [
          "Authorization: Bearer ",
          "Upload-Metadata: filename ",
          "Upload-Concat: final;/",
        ]
      ) {
        const what = `${field.split(":")[0]} of ${size} bytes`;
        const answer = await rawRequest(server.url, create(`${field}${"Q".repeat(size)}`));
        expectClientError(ctx, what, answer);
      }
    }

    // Range of a finished download: overflowing or malformed values.
    const done = await patch(up.location, session.token, 0, fileBytes(10));
    assert.equal(done.status, 204);
    for (
      const range of [
        "bytes=99999999999999999999999-",
        "bytes=-0",
        "bytes=5-2",
        "bytes=10-",
      ]
    ) {
      const res = await fetch(up.location, { headers: { ...bearer(session.token), Range: range } });
      await expectError(ctx, `Range ${range}`, res, 400, "INVALID_REQUEST");
    }
    for (const range of ["bytes=abc", "bytes=0-1,3-4", "items=0-1"]) {
      const res = await fetch(up.location, { headers: { ...bearer(session.token), Range: range } });
      assert.equal(res.status, 200, `Range ${range} is ignored`);
      await res.body?.cancel();
    }
    // RFC 9110 §14.1.2: a suffix longer than the file selects all of it.
    const suffix = await fetch(up.location, {
      headers: { ...bearer(session.token), Range: "bytes=-99999999999999999999" },
    });
    assert.equal(suffix.status, 206);
    assert.equal(suffix.headers.get("Content-Range"), "bytes 0-9/10");
    await suffix.body?.cancel();
    ctx.log.assertNone("the ranges");
  }));

Deno.test("malformed input: a 500 is always logged (STORAGE_ERROR when the part vanished)", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { server, session } = ctx;
    const up = await createUpload(server.url, session, { size: 100 });
    await Deno.remove(`${server.uploadsDir}/.parts/${up.id}`);
    const answer = await patch(up.location, session.token, 0, fileBytes(100));
    assert.equal(answer.status, 500);
    assert.equal(answer.error?.code, "STORAGE_ERROR");
    assert.equal(ctx.log.calls.length, 1, "the 500 was logged once");
    assert.match(ctx.log.calls[0]!, /PATCH/);
    ctx.log.clear();
  }));

Deno.test("malformed input: a filename cut inside an emoji at 255 units still downloads", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { server, session } = ctx;
    // sanitizeFilename keeps 255 UTF-16 units: the cut falls between the emoji's two halves.
    const filename = `${"a".repeat(254)}😀.jpg`;
    const res = await fetch(server.tusEndpoint, {
      method: "POST",
      headers: {
        ...TUS,
        ...bearer(session.token),
        "Upload-Length": "100",
        "Content-Type": OCTET,
        "Upload-Metadata": metadata({ filename, filetype: "image/jpeg" }),
      },
      body: fileBytes(100),
    });
    await res.body?.cancel();
    assert.equal(res.status, 201);
    const download = await fetch(res.headers.get("Location")!, { headers: bearer(session.token) });
    assert.equal(download.status, 200, "no URIError from encodeURIComponent");
    assert.match(
      download.headers.get("Content-Disposition") ?? "",
      /filename\*=UTF-8''a{254}%EF%BF%BD$/,
    );
    await download.body?.cancel();
    ctx.log.assertNone("the download");
  }));
