/**
 * Issue #8, items 4 and 5, end to end: the public category limits a page reads before it
 * has a session, and pause / resume / cancel over HTTP for a client whose socket is down.
 * A real server, real sockets in the room, PATCH bodies fed by hand; no sleeps.
 */
import assert from "node:assert/strict";
import type { Ack, ProgressUpdateEvent } from "../protocol/events.ts";
import type { ErrorPayload } from "../protocol/errors.ts";
import type { CategoriesResponse, CreateSessionResponse } from "../protocol/session.ts";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";
import { within } from "./support/deadline.ts";
import {
  bearer,
  createSession,
  createUpload,
  getSnapshot,
  head,
  offsetOf,
  patch,
  streamPatch,
} from "./support/http.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { command, connectWatcher, EventLog, type Watcher } from "./support/socket.ts";

const KiB = 1024;
const MiB = KiB * KiB;
const ORIGIN = "https://shop.example";

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** `POST /api/sessions/:id/files/:fileId/<name>` with an optional raw body. */
async function fileCommand(
  server: TestServer,
  session: { sessionId: string; token: string | null },
  fileId: string,
  name: string,
  body?: string,
): Promise<Answer> {
  const url = `${server.url}/api/sessions/${session.sessionId}/files/${
    encodeURIComponent(fileId)
  }/${name}`;
  const res = await fetch(url, {
    method: "POST",
    headers: {
      ...(session.token === null ? {} : bearer(session.token)),
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** An ack or command body without its clock reading: answers a moment apart are otherwise equal. */
function timeless(reply: unknown): unknown {
  const copy = structuredClone(reply) as { data?: { timestamp?: unknown } };
  if (copy.data) delete copy.data.timestamp;
  return copy;
}

interface Ctx {
  server: TestServer;
  session: CreateSessionResponse;
  bus: EventLog;
  /** Sends the socket commands the HTTP answers are compared with. */
  commander: Watcher;
  /** Another client in the room: it only listens. */
  listener: Watcher;
}

async function setup(scope: Scope, env: Record<string, string> = {}): Promise<Ctx> {
  const server = await startTestServer({ scope, env });
  const bus = EventLog.ofBus(server.running.bus);
  scope.defer("stop recording the bus", bus.stop);
  const session = await createSession(server.url);
  const watch = () =>
    connectWatcher(server.url, { sessionId: session.sessionId, token: session.token, scope });
  return { server, session, bus: bus.log, commander: await watch(), listener: await watch() };
}

/** A PATCH still in flight on the server, with `slice` bytes committed and the rest unsent. */
async function inFlight(ctx: Ctx, scope: Scope, location: string, id: string, source: Uint8Array) {
  const request = streamPatch(scope, location, ctx.session.token, 0);
  const slice = 128 * KiB;
  request.body.push(source.subarray(0, slice));
  await ctx.bus.committed(id, slice, { what: `the server to commit the first ${slice} bytes` });
  return request;
}

// ------------------------------------------------------------------- item 4: limits

Deno.test("categories: public limits, cacheable with an ETag, 304 on If-None-Match, CORS", () =>
  scoped(async (scope) => {
    const server = await startTestServer({
      scope,
      env: {
        H5_ALLOWED_ORIGINS: ORIGIN,
        H5_SCENIC_MAX_FILE_SIZE: "7MB",
        H5_SCENIC_MAX_FILES: "3",
        H5_SCENIC_ALLOWED_TYPES: "video/mp4,image/*",
      },
    });
    const url = `${server.url}/api/categories`;

    // No token: a page checks a picked file before any session exists.
    const res = await fetch(url, { headers: { Origin: ORIGIN } });
    const body = await res.json() as CategoriesResponse;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.match(res.headers.get("Content-Type") ?? "", /^application\/json/);
    assert.equal(res.headers.get("Cache-Control"), "public, max-age=300");
    assert.equal(res.headers.get("Access-Control-Allow-Origin"), ORIGIN);
    assert.match(res.headers.get("Vary") ?? "", /Origin/i, "a shared cache keys on Origin");
    assert.deepEqual(Object.keys(body), ["categories"]);
    assert.deepEqual(Object.keys(body.categories).sort(), ["personal", "scenic"]);
    assert.deepEqual(body.categories.scenic, {
      maxFileSize: 7_000_000,
      maxFiles: 3,
      allowedTypes: ["video/mp4", "image/*"],
    });
    // The very limits a session of each category is created with.
    for (const category of ["personal", "scenic"] as const) {
      const session = await createSession(server.url, category);
      assert.deepEqual(body.categories[category], session.limits, category);
    }

    // Deno.serve gzips the 200 for a client that accepts it and then weakens the tag (W/).
    const etag = res.headers.get("ETag")?.replace(/^W\//, "") ?? null;
    assert.match(etag ?? "", /^"[^"]+"$/, `an ETag, got ${etag}`);
    for (const tag of [etag!, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const again = await fetch(url, { headers: { "If-None-Match": tag, Origin: ORIGIN } });
      assert.equal(again.status, 304, `If-None-Match: ${tag}`);
      assert.equal(await again.text(), "", "a 304 has no body");
      assert.equal(again.headers.get("ETag")?.replace(/^W\//, ""), etag);
      assert.equal(again.headers.get("Cache-Control"), "public, max-age=300");
      assert.equal(again.headers.get("Access-Control-Allow-Origin"), ORIGIN);
    }
    const headOnly = await fetch(url, { method: "HEAD" });
    assert.equal(headOnly.status, 200);
    assert.equal(await headOnly.text(), "");
    assert.equal(headOnly.headers.get("ETag")?.replace(/^W\//, ""), etag);
    const changed = await fetch(url, { headers: { "If-None-Match": '"stale"' } });
    assert.equal(changed.status, 200);
    assert.deepEqual(await changed.json(), body);

    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: { Origin: ORIGIN, "Access-Control-Request-Method": "GET" },
    });
    await preflight.body?.cancel();
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("Access-Control-Allow-Origin"), ORIGIN);

    const foreign = await fetch(url, { headers: { Origin: "https://evil.example" } });
    assert.equal(foreign.status, 403);
    assert.equal((await foreign.json()).error.code, "ORIGIN_NOT_ALLOWED");
  }));

Deno.test("categories: GET /api/sessions/:id carries the session's category and limits", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_SCENIC_MAX_FILES: "2" } });
    const session = await createSession(server.url, "scenic");
    const answer = await getSnapshot(server.url, session);
    assert.equal(answer.category, "scenic");
    assert.deepEqual(answer.limits, session.limits);
    assert.equal(answer.limits.maxFiles, 2);
  }));

// ----------------------------------------------------------- item 5: HTTP commands

Deno.test("file commands: HTTP pause stops an in-flight PATCH, the room hears it, the body is the socket's ack", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const source = fileBytes(2 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });
    const request = await inFlight(ctx, scope, up.location, up.id, source);

    const answer = await fileCommand(
      ctx.server,
      ctx.session,
      up.id,
      "pause",
      JSON.stringify({ reason: "socket down, user pressed pause" }),
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.headers.get("Cache-Control"), "no-store");
    const reply = answer.body as Ack<ProgressUpdateEvent>;
    assert.ok(reply.ok);
    assert.equal(reply.data.currentFile?.id, up.id);
    assert.equal(reply.data.currentFile?.status, "paused");

    // The server stopped the PATCH: it answers 423, and the offset it reports is HEAD's.
    const ended = await within(request.answer, "the in-flight PATCH to be answered");
    request.body.close();
    assert.equal(ended.status, 423, JSON.stringify(ended.error));
    assert.equal(ended.error?.code, "UPLOAD_PAUSED");
    const offset = await offsetOf(up.location, token);
    assert.equal(ended.offset, offset);
    assert.ok(offset > 0 && offset < source.length, `paused at ${offset}`);

    const heard = await ctx.listener.events.waitFor("upload-paused", (e) => e.fileId === up.id);
    assert.equal(heard.sessionId, sessionId);
    assert.equal(heard.reason, "socket down, user pressed pause");
    assert.equal(heard.uploadedBytes, offset);

    // Pause is the server's state: a new PATCH is refused and nothing more is stored.
    const refused = await patch(up.location, token, offset, source.slice(offset));
    assert.equal(refused.status, 423);
    assert.equal(refused.error?.code, "UPLOAD_PAUSED");
    assert.equal(await offsetOf(up.location, token), offset, "no progress while paused");

    // The socket's ack for the same command on the same state is the HTTP body.
    const ack = await command(ctx.commander.socket, "upload-pause", { sessionId, fileId: up.id });
    assert.deepEqual(timeless(reply), timeless(ack));
  }));

Deno.test("file commands: HTTP resume lets the upload finish; the room hears upload-resumed", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const source = fileBytes(1 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });
    const first = source.length / 4;
    assert.equal((await patch(up.location, token, 0, source.slice(0, first))).status, 204);

    const paused = await fileCommand(ctx.server, ctx.session, up.id, "pause");
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    await ctx.listener.events.waitFor("upload-paused", (e) => e.fileId === up.id);
    assert.equal((await patch(up.location, token, first, source.slice(first))).status, 423);

    const answer = await fileCommand(ctx.server, ctx.session, up.id, "resume", "{}");
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const reply = answer.body as Ack<ProgressUpdateEvent>;
    assert.ok(reply.ok);
    assert.equal(reply.data.currentFile?.status, "uploading");
    const heard = await ctx.listener.events.waitFor("upload-resumed", (e) => e.fileId === up.id);
    assert.equal(heard.uploadedBytes, first);

    const ack = await command(ctx.commander.socket, "upload-resume", { sessionId, fileId: up.id });
    assert.deepEqual(timeless(reply), timeless(ack));

    const rest = await patch(up.location, token, first, source.slice(first));
    assert.equal(rest.status, 204, JSON.stringify(rest.error));
    const done = await ctx.listener.events.waitFor("upload-completed", (e) => e.fileId === up.id);
    const stored = await Deno.readFile(`${ctx.server.uploadsDir}/${done.uploadPath}`);
    assert.equal(await sha256Hex(stored), await sha256Hex(source));
  }));

Deno.test("file commands: HTTP cancel stops the PATCH, the room hears upload-cancelled", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const source = fileBytes(2 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });
    const request = await inFlight(ctx, scope, up.location, up.id, source);

    const answer = await fileCommand(
      ctx.server,
      ctx.session,
      up.id,
      "cancel",
      JSON.stringify({ reason: "changed my mind" }),
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const reply = answer.body as Ack<ProgressUpdateEvent>;
    assert.ok(reply.ok);
    assert.equal(reply.data.files?.find((f) => f.id === up.id)?.status, "cancelled");

    const ended = await within(request.answer, "the in-flight PATCH to be answered");
    request.body.close();
    assert.equal(ended.status, 410, JSON.stringify(ended.error));
    assert.equal(ended.error?.code, "UPLOAD_CANCELLED");

    const heard = await ctx.listener.events.waitFor("upload-cancelled", (e) => e.fileId === up.id);
    assert.equal(heard.reason, "changed my mind");
    assert.equal(heard.sessionId, sessionId);
    const after = await patch(up.location, token, 0, source.slice(0, KiB));
    assert.ok(after.status === 404 || after.status === 410, `PATCH after cancel: ${after.status}`);

    const ack = await command(ctx.commander.socket, "upload-cancel", { sessionId, fileId: up.id });
    assert.deepEqual(timeless(reply), timeless(ack));
  }));

Deno.test("file commands: refusals carry the socket's codes with their HTTP status", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId } = ctx.session;
    const other = await createSession(ctx.server.url);
    const source = fileBytes(64 * KiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });

    const expectError = (a: Answer, status: number, code: string, what: string) => {
      assert.equal(a.status, status, `${what}: ${JSON.stringify(a.body)}`);
      const error = (a.body as { error: ErrorPayload }).error;
      assert.equal(error.code, code, what);
      assert.equal(typeof error.message, "string");
      assert.equal(a.headers.get("Cache-Control"), "no-store", what);
      return error;
    };

    const otherUp = await createUpload(ctx.server.url, other, { size: 10 });
    for (const name of ["pause", "resume", "cancel"]) {
      // Another session's token, or none: 403, and the upload is untouched.
      expectError(
        await fileCommand(ctx.server, { sessionId, token: other.token }, up.id, name),
        403,
        "INSUFFICIENT_PERMISSIONS",
        `${name} with another session's token`,
      );
      expectError(
        await fileCommand(ctx.server, { sessionId, token: null }, up.id, name),
        403,
        "INSUFFICIENT_PERMISSIONS",
        `${name} without a token`,
      );
      // A file of another session is as unknown as one that never existed.
      for (const fileId of ["no-such-file", otherUp.id]) {
        const error = expectError(
          await fileCommand(ctx.server, ctx.session, fileId, name),
          404,
          "FILE_NOT_FOUND",
          `${name} of ${fileId}`,
        );
        const event = `upload-${name}` as "upload-pause" | "upload-resume" | "upload-cancel";
        const ack = await command(ctx.commander.socket, event, { sessionId, fileId });
        assert.deepEqual(ack, { ok: false, error }, `${name}: the socket's refusal`);
      }
    }
    assert.equal(ctx.listener.events.roomEventNames().includes("upload-paused"), false);
    assert.equal((await head(up.location, ctx.session.token)).status, 200);

    expectError(
      await fileCommand(ctx.server, ctx.session, up.id, "pause", "{not json"),
      400,
      "INVALID_REQUEST",
      "a body that is not JSON",
    );
    expectError(
      await fileCommand(ctx.server, ctx.session, up.id, "pause", JSON.stringify({ reason: 7 })),
      400,
      "INVALID_REQUEST",
      "a reason that is not a string",
    );
    expectError(
      await fileCommand(
        ctx.server,
        ctx.session,
        up.id,
        "cancel",
        JSON.stringify({ reason: "x".repeat(501) }),
      ),
      400,
      "INVALID_REQUEST",
      "a reason over the socket's 500 characters",
    );
    const huge = expectError(
      await fileCommand(
        ctx.server,
        ctx.session,
        up.id,
        "pause",
        JSON.stringify({ reason: "x".repeat(20 * KiB) }),
      ),
      413,
      "REQUEST_TOO_LARGE",
      "a body over the sessions API's JSON cap",
    );
    assert.ok(huge.message.length < 200);

    // Cancelled for good: pausing it is the socket's refusal, with its status.
    assert.equal((await fileCommand(ctx.server, ctx.session, up.id, "cancel")).status, 200);
    const refused = await fileCommand(ctx.server, ctx.session, up.id, "pause");
    assert.ok(
      refused.status >= 400 && refused.status < 500,
      `resume after cancel: ${refused.status}`,
    );
    assert.equal((refused.body as { error: ErrorPayload }).error.code, "UPLOAD_CANCELLED");
    const ack = await command(ctx.commander.socket, "upload-pause", { sessionId, fileId: up.id });
    assert.deepEqual(refused.body, { error: (ack as { error: ErrorPayload }).error });
  }));

Deno.test("file commands: limited per client address like socket events (H5_SOCKET_RATE)", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_SOCKET_RATE: "1" } });
    const session = await createSession(server.url);
    const up = await createUpload(server.url, session, { size: 10 });
    // Ten at once against a bucket of one that refills once a second: most are refused.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => fileCommand(server, session, up.id, "pause")),
    );
    const refused = answers.filter((a) => a.status === 429);
    assert.ok(refused.length >= 5, `statuses: ${answers.map((a) => a.status).join(",")}`);
    assert.ok(answers.some((a) => a.status === 200));
    for (const a of refused) {
      assert.equal((a.body as { error: ErrorPayload }).error.code, "RATE_LIMIT_EXCEEDED");
      assert.equal(a.headers.get("Retry-After"), "1");
    }
  }));
