/**
 * The real-time protocol end to end: a real server, real socket.io-client watchers, and
 * tus PATCH requests whose bodies the test feeds by hand, so it decides when bytes flow.
 * Every wait is on an event or a response (see support/deadline.ts), never on a sleep.
 */
import assert from "node:assert/strict";
import type {
  Ack,
  FileProgress,
  FileStatus,
  OverallStatus,
  ProgressUpdateEvent,
  SessionCompletedEvent,
  UploadCompletedEvent,
  UploadStartedEvent,
} from "../protocol/events.ts";
import type { CreateSessionResponse } from "../protocol/session.ts";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";
import { within } from "./support/deadline.ts";
import {
  createSession,
  createUpload,
  exists,
  getSnapshot,
  head,
  offsetOf,
  patch,
  type PatchAnswer,
  type StreamedPatch,
  streamPatch,
} from "./support/http.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import {
  command,
  connectWatcher,
  EventLog,
  okData,
  refusedConnection,
  type Watcher,
} from "./support/socket.ts";

const MiB = 2 ** 20;
const OVERALL: readonly OverallStatus[] = [
  "pending",
  "uploading",
  "paused",
  "completed",
  "failed",
  "cancelled",
];
const FILE_STATUSES: readonly FileStatus[] = [
  "pending",
  "uploading",
  "paused",
  "completed",
  "failed",
  "cancelled",
];

// ------------------------------------------------------------------------ fixtures

interface Ctx {
  scope: Scope;
  server: TestServer;
  session: CreateSessionResponse;
  /** The service's domain events before the realtime throttle: what was committed, unthrottled. */
  bus: EventLog;
  watch(
    session?: CreateSessionResponse,
    transports?: ("polling" | "websocket")[],
  ): Promise<Watcher>;
  /** A PATCH at `offset` whose body the test feeds (aborted at cleanup if still open). */
  stream(location: string, offset?: number): StreamedPatch;
}

async function setup(scope: Scope, env: Record<string, string> = {}): Promise<Ctx> {
  const server = await startTestServer({ env, scope });
  const bus = EventLog.ofBus(server.running.bus);
  scope.defer("stop recording the bus", bus.stop);
  const session = await createSession(server.url);
  return {
    scope,
    server,
    session,
    bus: bus.log,
    watch: (s = session, transports) =>
      connectWatcher(server.url, {
        sessionId: s.sessionId,
        token: s.token,
        scope,
        ...(transports ? { transports } : {}),
      }),
    stream: (location, offset = 0) => streamPatch(scope, location, session.token, offset),
  };
}

/** The stored file's sha256, found through `upload-completed` on `watcher`. */
async function storedSha(ctx: Ctx, watcher: Watcher, fileId: string): Promise<string> {
  const done = await watcher.events.waitFor("upload-completed", (e) => e.fileId === fileId);
  return await sha256Hex(await Deno.readFile(`${ctx.server.uploadsDir}/${done.uploadPath}`));
}

/** Waits until the service committed at least `bytes` of `fileId` (its unthrottled event). */
function committed(ctx: Ctx, fileId: string, bytes: number) {
  return ctx.bus.committed(fileId, bytes);
}

/** The first progress `watcher` heard of `fileId` with bytes committed. */
function heardBytes(watcher: Watcher, fileId: string) {
  return watcher.events.named("upload-progress").find((e) =>
    e.currentFile?.id === fileId && e.currentFile.uploadedBytes > 0
  );
}

/**
 * Feeds `source` (from `start`) into a streamed PATCH slice by slice, each slice once the
 * previous one was committed, until `watcher` heard progress with bytes > 0, as a slow
 * client would; never sends the last slice, so the PATCH is still in flight afterwards.
 */
async function feedUntilHeard(
  ctx: Ctx,
  watcher: Watcher,
  request: StreamedPatch,
  fileId: string,
  source: Uint8Array,
  start = 0,
  slice = 128 * 1024,
): Promise<ProgressUpdateEvent> {
  for (;;) {
    const heard = heardBytes(watcher, fileId);
    if (heard) return heard;
    const from = start + request.body.pushed;
    if (from + slice >= source.length) {
      throw new Error(`sent ${request.body.pushed} bytes and no watcher heard any progress`);
    }
    request.body.push(source.subarray(from, from + slice));
    await committed(ctx, fileId, start + request.body.pushed);
  }
}

/** A PATCH that the server ended early: an error answer, or a closed connection. */
async function endedEarly(
  request: StreamedPatch,
  what: string,
): Promise<PatchAnswer | "connection closed"> {
  try {
    return await within(request.answer, what);
  } catch (error) {
    if (error instanceof TypeError) return "connection closed"; // fetch's network error
    throw error;
  }
}

// ------------------------------------------------------------------ spec field checks

function assertIso(value: unknown, field: string): void {
  assert.equal(typeof value, "string", `${field} is a string`);
  assert.ok(!Number.isNaN(Date.parse(value as string)), `${field} "${value}" is a date`);
  assert.equal(new Date(value as string).toISOString(), value, `${field} is ISO 8601`);
}

function assertCount(value: unknown, field: string): void {
  assert.ok(Number.isInteger(value) && (value as number) >= 0, `${field}=${value} is a count`);
}

function assertNonNegative(value: unknown, field: string): void {
  assert.ok(
    typeof value === "number" && Number.isFinite(value) && value >= 0,
    `${field}=${value} is a non-negative number`,
  );
}

function assertPercent(value: unknown, field: string): void {
  assertNonNegative(value, field);
  assert.ok((value as number) <= 100, `${field}=${value} <= 100`);
}

function assertKeys(payload: object, required: string[], optional: string[], what: string) {
  const keys = Object.keys(payload);
  for (const key of required) assert.ok(keys.includes(key), `${what} lacks "${key}"`);
  for (const key of keys) {
    assert.ok(required.includes(key) || optional.includes(key), `${what} has unknown "${key}"`);
  }
}

function assertFileProgress(file: FileProgress, what: string): void {
  assertKeys(
    file,
    ["id", "originalName", "progress", "status", "uploadedBytes", "totalBytes"],
    ["uploadSpeed", "errorMessage", "uploadPath"],
    what,
  );
  assert.equal(typeof file.id, "string");
  assert.equal(typeof file.originalName, "string");
  assertPercent(file.progress, `${what}.progress`);
  assert.ok(FILE_STATUSES.includes(file.status), `${what}.status "${file.status}"`);
  if (file.uploadSpeed !== undefined) assertNonNegative(file.uploadSpeed, `${what}.uploadSpeed`);
  if (file.errorMessage !== undefined) assert.equal(typeof file.errorMessage, "string");
  assertCount(file.uploadedBytes, `${what}.uploadedBytes`);
  if (file.totalBytes !== null) {
    assertCount(file.totalBytes, `${what}.totalBytes`);
    assert.ok(file.uploadedBytes <= file.totalBytes, `${what}: uploadedBytes <= totalBytes`);
  }
}

function assertProgressEvent(e: ProgressUpdateEvent, sessionId: string): void {
  assertKeys(
    e,
    [
      "sessionId",
      "overallStatus",
      "totalProgress",
      "completedFiles",
      "failedFiles",
      "message",
      "timestamp",
    ],
    ["currentFile", "files"],
    "ProgressUpdateEvent",
  );
  assert.equal(e.sessionId, sessionId);
  assert.ok(OVERALL.includes(e.overallStatus), `overallStatus "${e.overallStatus}"`);
  assertPercent(e.totalProgress, "totalProgress");
  assertCount(e.completedFiles, "completedFiles");
  assertCount(e.failedFiles, "failedFiles");
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 0, "message is not empty");
  assertIso(e.timestamp, "timestamp");
  if (e.currentFile) assertFileProgress(e.currentFile, "currentFile");
}

// ------------------------------------------------------------------------------ tests

Deno.test("realtime: two watchers hear the same upload, with every spec field", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId } = ctx.session;
    // One watcher on WebSocket, one on long-polling (upgraded when it can): both via the hop.
    const a = await ctx.watch(ctx.session, ["websocket"]);
    const b = await ctx.watch(ctx.session, ["polling", "websocket"]);

    const source = fileBytes(4 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, {
      size: source.length,
      filename: "sunset.jpg",
    });
    const request = ctx.stream(up.location);
    for (let i = 1; i <= 4; i++) {
      request.body.push(source.subarray((i - 1) * MiB, i * MiB));
      // Each quarter is committed before the next one flows: a slow, steady client.
      if (i < 4) await committed(ctx, up.id, i * MiB);
    }
    request.body.close();
    const answer = await within(request.answer, "the answer to a streamed PATCH of the whole file");
    assert.equal(answer.status, 204, JSON.stringify(answer.error));
    assert.equal(answer.offset, source.length);

    // The session's last event: progress after session-completed, without a current file.
    const last = (e: ProgressUpdateEvent) => e.overallStatus === "completed" && !e.currentFile;
    for (const w of [a, b]) {
      await w.events.waitFor("session-completed");
      await w.events.waitFor("upload-progress", last, { what: "the final session progress" });
    }

    const names = a.events.roomEventNames();
    assert.deepEqual(b.events.roomEventNames(), names, "both watchers heard the same sequence");
    const room = (w: Watcher) => w.events.all.filter((e) => e.name !== "connection-status");
    assert.deepEqual(room(b), room(a), "both watchers heard the same payloads");
    assert.match(
      names.join(","),
      /^upload-progress,upload-started,(upload-progress,)+upload-completed,upload-progress,session-completed,upload-progress$/,
    );

    // upload-progress: spec fields on every event; this file's bytes never go backwards.
    const progress = a.events.named("upload-progress");
    let seen = 0;
    for (const e of progress) {
      assertProgressEvent(e, sessionId);
      if (e.currentFile) {
        assert.equal(e.currentFile.id, up.id);
        assert.equal(e.currentFile.originalName, "sunset.jpg");
        assert.equal(e.currentFile.totalBytes, source.length);
        assert.ok(e.currentFile.uploadedBytes >= seen, "progress never goes backwards");
        seen = e.currentFile.uploadedBytes;
      }
    }
    assert.equal(progress[0]!.overallStatus, "pending");
    assert.equal(progress[0]!.currentFile?.status, "pending");
    assert.ok(
      progress.some((e) =>
        e.overallStatus === "uploading" && e.currentFile!.uploadedBytes > 0 &&
        e.currentFile!.uploadedBytes < source.length
      ),
      "intermediate progress was heard",
    );

    const started: UploadStartedEvent = a.events.named("upload-started")[0]!;
    assertKeys(
      started,
      ["sessionId", "fileId", "fileName", "fileSize", "startTime"],
      [],
      "UploadStartedEvent",
    );
    assert.equal(started.sessionId, sessionId);
    assert.equal(started.fileId, up.id);
    assert.equal(started.fileName, "sunset.jpg");
    assert.equal(started.fileSize, source.length);
    assertIso(started.startTime, "startTime");

    const done: UploadCompletedEvent = a.events.named("upload-completed")[0]!;
    assertKeys(
      done,
      [
        "sessionId",
        "fileId",
        "fileName",
        "fileSize",
        "uploadPath",
        "endTime",
        "duration",
        "finalSpeed",
      ],
      [],
      "UploadCompletedEvent",
    );
    assert.equal(done.sessionId, sessionId);
    assert.equal(done.fileId, up.id);
    assert.equal(done.fileName, "sunset.jpg");
    assert.equal(done.fileSize, source.length);
    assert.match(done.uploadPath, new RegExp(`^personal/\\d{4}/\\d{2}/\\d{2}/${up.id}\\.jpg$`));
    assertIso(done.endTime, "endTime");
    assert.ok(Date.parse(done.endTime) >= Date.parse(started.startTime), "ends after it started");
    assertNonNegative(done.duration, "duration");
    assert.ok(done.duration > 0, "duration > 0 s");
    assertNonNegative(done.finalSpeed, "finalSpeed");
    assert.ok(done.finalSpeed > 0, "finalSpeed > 0 B/s");

    const completedFile = progress.at(-2)!;
    assert.equal(completedFile.currentFile?.status, "completed");
    assert.equal(completedFile.currentFile?.progress, 100);
    assert.equal(completedFile.currentFile?.uploadPath, done.uploadPath);

    const session: SessionCompletedEvent = a.events.named("session-completed")[0]!;
    assertKeys(
      session,
      ["sessionId", "summary", "endTime", "uploadPaths"],
      [],
      "SessionCompletedEvent",
    );
    assert.equal(session.sessionId, sessionId);
    assertIso(session.endTime, "session endTime");
    assert.deepEqual(session.uploadPaths, [done.uploadPath]);
    const s = session.summary;
    assertKeys(
      s,
      [
        "totalFiles",
        "completedFiles",
        "failedFiles",
        "cancelledFiles",
        "totalSize",
        "uploadedSize",
        "averageSpeed",
        "totalTime",
      ],
      [],
      "SessionCompletedEvent.summary",
    );
    assert.equal(s.totalFiles, 1);
    assert.equal(s.completedFiles, 1);
    assert.equal(s.failedFiles, 0);
    assert.equal(s.cancelledFiles, 0);
    assert.equal(s.totalSize, source.length);
    assert.equal(s.uploadedSize, source.length);
    assertNonNegative(s.averageSpeed, "averageSpeed");
    assertNonNegative(s.totalTime, "totalTime");
    assert.ok(s.totalTime > 0, "totalTime > 0 s");

    const final = progress.at(-1)!;
    assert.equal(final.totalProgress, 100);
    assert.equal(final.completedFiles, 1);
    assert.equal(final.failedFiles, 0);

    assert.equal(await storedSha(ctx, a, up.id), await sha256Hex(source));
  }));

Deno.test("realtime: a pause from one socket stops another client's PATCH until resume", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const a = await ctx.watch(); // sends the commands
    const c = await ctx.watch(); // only watches

    const source = fileBytes(4 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });

    // Client B: a PATCH in flight, some bytes committed and heard, the rest not yet sent.
    const b = ctx.stream(up.location);
    await feedUntilHeard(ctx, c, b, up.id, source);

    const ack = await command(a.socket, "upload-pause", {
      sessionId,
      fileId: up.id,
      reason: "user pressed pause",
    });
    const paused = okData(ack);
    assert.equal(paused.currentFile?.id, up.id);
    assert.equal(paused.currentFile?.status, "paused");
    assert.equal(paused.overallStatus, "paused");

    const ended = await endedEarly(b, "B's PATCH to end after the pause");
    b.body.close();
    if (ended !== "connection closed") {
      assert.equal(ended.status, 423, `B's PATCH: ${JSON.stringify(ended.error)}`);
      assert.equal(ended.error?.code, "UPLOAD_PAUSED");
    }

    const heard = await c.events.waitFor("upload-paused", (e) => e.fileId === up.id);
    assertKeys(
      heard,
      ["sessionId", "fileId", "reason", "pausedAt", "uploadedBytes"],
      [],
      "upload-paused",
    );
    assert.equal(heard.sessionId, sessionId);
    assert.equal(heard.reason, "user pressed pause");
    assertIso(heard.pausedAt, "pausedAt");
    await c.events.waitFor("upload-progress", (e) => e.currentFile?.status === "paused");

    const offset = await offsetOf(up.location, token);
    assert.ok(
      offset > 0 && offset <= b.body.pushed,
      `paused at ${offset} of ${b.body.pushed} sent`,
    );
    assert.equal(heard.uploadedBytes, offset, "upload-paused carries the committed offset");
    if (ended !== "connection closed") assert.equal(ended.offset, offset);

    // Paused is server state: a new PATCH at the right offset is refused, nothing appended.
    const refused = await patch(up.location, token, offset, source.slice(offset, offset + MiB));
    assert.equal(refused.status, 423);
    assert.equal(refused.error?.code, "UPLOAD_PAUSED");
    assert.equal(refused.offset, offset);
    assert.equal(await offsetOf(up.location, token), offset, "the offset is stable while paused");

    const resumed = okData(await command(a.socket, "upload-resume", { sessionId, fileId: up.id }));
    assert.equal(resumed.currentFile?.status, "uploading");
    const heardResume = await c.events.waitFor("upload-resumed", (e) => e.fileId === up.id);
    assert.equal(heardResume.uploadedBytes, offset);
    assertIso(heardResume.resumedAt, "resumedAt");

    const from = await offsetOf(up.location, token);
    assert.equal(from, offset);
    const rest = await patch(up.location, token, from, source.slice(from));
    assert.equal(rest.status, 204, JSON.stringify(rest.error));
    assert.equal(rest.offset, source.length);
    assert.equal(await storedSha(ctx, c, up.id), await sha256Hex(source));
    await c.events.waitFor("session-completed");
  }));

Deno.test("realtime: wrong tokens are refused and other sessions hear nothing", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const other = await createSession(ctx.server.url);

    for (const wrong of ["forged.token", `${token}x`, other.token]) {
      const error = await refusedConnection(ctx.server.url, { sessionId, token: wrong });
      assert.equal(error.data?.code, "INSUFFICIENT_PERMISSIONS", `token ${wrong.slice(0, 12)}…`);
    }

    const mine = await ctx.watch();
    const theirs = await ctx.watch(other);
    // A socket of another session can neither join this room nor command it.
    const join = await within(
      new Promise<Ack<unknown>>((resolve) =>
        theirs.socket.emit("join-session", sessionId, resolve)
      ),
      "the join-session ack",
    );
    assert.equal(join.ok, false);
    assert.equal(!join.ok && join.error.code, "INSUFFICIENT_PERMISSIONS");
    const pause = await command(theirs.socket, "upload-pause", { sessionId });
    assert.equal(pause.ok, false);
    assert.equal(!pause.ok && pause.error.code, "INSUFFICIENT_PERMISSIONS");

    const source = fileBytes(MiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });
    const answer = await patch(up.location, token, 0, source);
    assert.equal(answer.status, 204);
    await mine.events.waitFor("session-completed");

    // A marker in the other session: once it arrived, anything sent before it has too.
    const marker = await createUpload(ctx.server.url, other, { size: 10 });
    await theirs.events.waitFor("upload-progress", (e) => e.currentFile?.id === marker.id);
    const leaked = theirs.events.all.filter((e) =>
      (e.payload as { sessionId?: string } | undefined)?.sessionId === sessionId
    );
    assert.deepEqual(leaked, [], "the other session's socket heard this session");
    assert.ok(
      mine.events.all.every((e) =>
        e.name === "connection-status" ||
        (e.payload as { sessionId: string }).sessionId === sessionId
      ),
    );
  }));

Deno.test("realtime: an interrupted PATCH fails retryably and resumes from HEAD", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { token } = ctx.session;
    const w = await ctx.watch();
    const source = fileBytes(4 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });

    const request = ctx.stream(up.location);
    const heard = await feedUntilHeard(ctx, w, request, up.id, source);
    assert.ok(heard.currentFile!.uploadedBytes > 0);
    request.abort(new Error("the phone lost its connection"));
    await assert.rejects(within(request.answer, "the aborted PATCH to settle"));

    const failed = await w.events.waitFor("upload-failed", (e) => e.fileId === up.id);
    assertKeys(
      failed,
      [
        "sessionId",
        "fileId",
        "fileName",
        "error",
        "failedAt",
        "canRetry",
        "retryCount",
        "maxRetries",
      ],
      [],
      "UploadFailedEvent",
    );
    assert.equal(failed.sessionId, ctx.session.sessionId);
    assert.equal(failed.fileName, "photo.jpg");
    assert.equal(failed.error.code, "UPLOAD_INTERRUPTED");
    assert.equal(typeof failed.error.message, "string");
    assert.equal(failed.canRetry, true);
    assert.equal(failed.retryCount, 1);
    assert.equal(failed.maxRetries, 5);
    assertIso(failed.failedAt, "failedAt");
    const failedProgress = await w.events.waitFor(
      "upload-progress",
      (e) => e.currentFile?.id === up.id && e.currentFile.status === "failed",
    );
    assert.equal(typeof failedProgress.currentFile!.errorMessage, "string");

    const offset = await offsetOf(up.location, token);
    assert.ok(offset >= heard.currentFile!.uploadedBytes, "what was heard stays committed");
    assert.ok(offset <= request.body.pushed, `offset ${offset} <= sent ${request.body.pushed}`);
    assert.equal(failedProgress.currentFile!.uploadedBytes, offset);
    const part = await Deno.stat(`${ctx.server.uploadsDir}/.parts/${up.id}`);
    assert.equal(part.size, offset, "the part holds exactly the committed bytes");

    const rest = await patch(up.location, token, offset, source.slice(offset));
    assert.equal(rest.status, 204, JSON.stringify(rest.error));
    assert.equal(rest.offset, source.length);
    assert.equal(await storedSha(ctx, w, up.id), await sha256Hex(source));
  }));

Deno.test("realtime: upload-cancel of one file stops it, removes its part, others go on", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const w = await ctx.watch();
    const one = fileBytes(4 * MiB);
    const two = fileBytes(MiB);
    const first = await createUpload(ctx.server.url, ctx.session, { size: one.length });
    const second = await createUpload(ctx.server.url, ctx.session, { size: two.length });
    const part = `${ctx.server.uploadsDir}/.parts/${first.id}`;

    const request = ctx.stream(first.location);
    const heard = await feedUntilHeard(ctx, w, request, first.id, one);
    assert.ok(await exists(part));

    const ack = okData(
      await command(w.socket, "upload-cancel", { sessionId, fileId: first.id, reason: "mistake" }),
    );
    assert.equal(ack.currentFile?.status, "cancelled");
    const ended = await endedEarly(request, "the cancelled PATCH to end");
    request.body.close();
    if (ended !== "connection closed") {
      assert.equal(ended.status, 410);
      assert.equal(ended.error?.code, "UPLOAD_CANCELLED");
    }

    const cancelled = await w.events.waitFor("upload-cancelled", (e) => e.fileId === first.id);
    assertKeys(
      cancelled,
      ["sessionId", "fileId", "reason", "cancelledAt", "uploadedBytes"],
      [],
      "UploadCancelledEvent",
    );
    assert.equal(cancelled.sessionId, sessionId);
    assert.equal(cancelled.reason, "mistake");
    assertIso(cancelled.cancelledAt, "cancelledAt");
    assertCount(cancelled.uploadedBytes, "uploadedBytes");
    assert.ok(
      cancelled.uploadedBytes >= heard.currentFile!.uploadedBytes &&
        cancelled.uploadedBytes <= request.body.pushed,
      `uploadedBytes ${cancelled.uploadedBytes} is what was committed`,
    );
    assert.equal(await exists(part), false, "the part file is removed");
    const gone = await head(first.location, token);
    assert.equal(gone.status, 410);

    // The session goes on with the other file and completes with one cancelled file.
    const answer = await patch(second.location, token, 0, two);
    assert.equal(answer.status, 204);
    const done = await w.events.waitFor("session-completed");
    assert.equal(done.summary.totalFiles, 2);
    assert.equal(done.summary.completedFiles, 1);
    assert.equal(done.summary.cancelledFiles, 1);
    assert.equal(done.uploadPaths.length, 1);
    assert.equal(await storedSha(ctx, w, second.id), await sha256Hex(two));
  }));

Deno.test("realtime: upload-progress with requestUpdate answers a snapshot with files[]", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const asker = await ctx.watch();
    const bystander = await ctx.watch();
    const source = fileBytes(2 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, {
      size: source.length,
      filename: "kid.jpg",
    });
    const first = await patch(up.location, token, 0, source.slice(0, MiB));
    assert.equal(first.status, 204);
    assert.equal(first.offset, MiB);

    const from = asker.events.all.length;
    const snapshot = okData(
      await command(asker.socket, "upload-progress", {
        sessionId,
        fileId: up.id,
        requestUpdate: true,
      }),
    );
    assertProgressEvent(snapshot, sessionId);
    assert.ok(Array.isArray(snapshot.files), "files[] in the answer");
    assert.equal(snapshot.files!.length, 1);
    const file = snapshot.files![0]!;
    assertFileProgress(file, "files[0]");
    assert.equal(file.id, up.id);
    assert.equal(file.originalName, "kid.jpg");
    assert.equal(file.uploadedBytes, MiB);
    assert.equal(file.totalBytes, source.length);
    assert.equal(file.progress, 50);
    assert.equal(snapshot.totalProgress, 50);

    // The requester also gets the snapshot as an event; the rest of the room does not.
    const pushed = await asker.events.waitFor("upload-progress", (e) => e.files !== undefined, {
      from,
    });
    assert.deepEqual(pushed.files, snapshot.files);
    okData(await command(asker.socket, "upload-pause", { sessionId, fileId: up.id }));
    await bystander.events.waitFor("upload-paused");
    assert.ok(
      bystander.events.named("upload-progress").every((e) => e.files === undefined),
      "requestUpdate answers go to the requester only",
    );
  }));

/** GET /api/sessions/:id against the last progress `watcher` heard. */
async function assertSnapshotMatches(ctx: Ctx, watcher: Watcher, label: string) {
  const last = watcher.events.named("upload-progress").at(-1)!;
  // The HTTP answer adds the session's category and limits to the socket's payload.
  const { category: _category, limits: _limits, ...snapshot } = await getSnapshot(
    ctx.server.url,
    ctx.session,
  );
  assertProgressEvent(snapshot, ctx.session.sessionId);
  for (const key of ["overallStatus", "totalProgress", "completedFiles", "failedFiles"] as const) {
    assert.equal(snapshot[key], last[key], `${label}: ${key} of GET and of the last event`);
  }
  if (last.currentFile) {
    const file = snapshot.files.find((f) => f.id === last.currentFile!.id);
    assert.ok(file, `${label}: the current file is in files[]`);
    for (const key of ["status", "progress", "uploadedBytes", "totalBytes"] as const) {
      assert.equal(file[key], last.currentFile[key], `${label}: currentFile.${key}`);
    }
  }
  return snapshot;
}

Deno.test("realtime: GET /api/sessions/:id matches the last socket progress event", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const { sessionId, token } = ctx.session;
    const w = await ctx.watch();
    const source = fileBytes(4 * MiB);

    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });
    await w.events.waitFor("upload-progress", (e) => e.currentFile?.id === up.id);
    assert.equal((await assertSnapshotMatches(ctx, w, "created")).overallStatus, "pending");

    const request = ctx.stream(up.location);
    await feedUntilHeard(ctx, w, request, up.id, source);
    okData(await command(w.socket, "upload-pause", { sessionId, fileId: up.id }));
    await endedEarly(request, "the paused PATCH to end");
    request.body.close();
    await w.events.waitFor("upload-progress", (e) => e.currentFile?.status === "paused");
    const paused = await assertSnapshotMatches(ctx, w, "paused");
    assert.equal(paused.overallStatus, "paused");
    assert.equal(paused.files[0]!.uploadedBytes, await offsetOf(up.location, token));

    const resumedAt = w.events.all.length;
    okData(await command(w.socket, "upload-resume", { sessionId, fileId: up.id }));
    await w.events.waitFor("upload-progress", (e) => e.currentFile?.status === "uploading", {
      from: resumedAt,
    });
    await assertSnapshotMatches(ctx, w, "resumed");

    const offset = await offsetOf(up.location, token);
    assert.equal((await patch(up.location, token, offset, source.slice(offset))).status, 204);
    await w.events.waitFor("session-completed");
    await w.events.waitFor(
      "upload-progress",
      (e) => e.overallStatus === "completed" && !e.currentFile,
    );
    const done = await assertSnapshotMatches(ctx, w, "completed");
    assert.equal(done.overallStatus, "completed");
    assert.equal(done.files[0]!.status, "completed");
    assert.equal(done.files[0]!.uploadPath, w.events.named("upload-completed")[0]!.uploadPath);
  }));

Deno.test("realtime: watchers hear the bytes committed when a PATCH ends or stalls mid-file", () =>
  scoped(async (scope) => {
    // "Progress is what the server durably received, the same for every watcher" (README):
    // once bytes stop flowing, the last committed offset must reach the room (the throttle
    // may delay it, not drop it), and the HTTP snapshot must agree with the last event.
    const ctx = await setup(scope);
    const w = await ctx.watch();
    const source = fileBytes(4 * MiB);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });
    const hears = (bytes: number, what: string) =>
      w.events.waitFor(
        "upload-progress",
        (e) => e.currentFile?.id === up.id && e.currentFile.uploadedBytes === bytes,
        { ms: 10_000, what: `watchers to hear ${bytes} committed bytes ${what}` },
      );

    // A PATCH that ends mid-file (a tus chunk): 204 at 1 MiB.
    const chunk = await patch(up.location, ctx.session.token, 0, source.slice(0, MiB));
    assert.equal(chunk.status, 204);
    assert.equal(chunk.offset, MiB);
    await hears(MiB, "after a PATCH answered 204 mid-file");
    await assertSnapshotMatches(ctx, w, "after a chunk");

    // A PATCH that stalls: 1 MiB more arrives and is committed, then nothing.
    const request = ctx.stream(up.location, MiB);
    request.body.push(source.subarray(MiB, 2 * MiB));
    await committed(ctx, up.id, 2 * MiB);
    await hears(2 * MiB, "while the PATCH stalls");
    await assertSnapshotMatches(ctx, w, "stalled");
  }));

Deno.test("realtime: progress of a slow upload is throttled (>= 1 point per same-status event)", () =>
  scoped(async (scope) => {
    const ctx = await setup(scope);
    const w = await ctx.watch();
    const STEPS = 100;
    const step = 20 * 1024;
    const source = fileBytes(STEPS * step);
    const up = await createUpload(ctx.server.url, ctx.session, { size: source.length });
    const request = ctx.stream(up.location);
    for (let i = 0; i < STEPS; i++) {
      request.body.push(source.subarray(i * step, (i + 1) * step));
      // Paced by the server: every 5 steps wait until the service committed them (its
      // unthrottled event), so the upload really is slow and is committed many times.
      if ((i + 1) % 5 === 0 && i + 1 < STEPS) await committed(ctx, up.id, request.body.pushed);
    }
    request.body.close();
    const answer = await within(request.answer, "the answer to the slow PATCH");
    assert.equal(answer.status, 204, JSON.stringify(answer.error));
    await w.events.waitFor("session-completed");

    const mine = (events: ProgressUpdateEvent[]) =>
      events.filter((e) => e.currentFile?.id === up.id).map((e) => e.currentFile!);
    const heard = mine(w.events.named("upload-progress"));
    const published = ctx.bus.fileDeltas(up.id);
    assert.ok(published.length >= STEPS / 5, `the service committed ${published.length} times`);
    assert.ok(
      heard.length <= STEPS / 4,
      `${heard.length} progress events for ${STEPS} steps is not throttled`,
    );
    assert.ok(heard.length <= published.length);
    for (let i = 1; i < heard.length; i++) {
      const [prev, next] = [heard[i - 1]!, heard[i]!];
      if (prev.status !== next.status) continue; // a status change always passes
      // The throttle lets 100 % through at once (the end of a file is never held back).
      if (next.progress >= 100 && prev.progress < 100) continue;
      assert.ok(
        Math.abs(next.progress - prev.progress) >= 1,
        `events ${i - 1} and ${i} are ${prev.progress}% -> ${next.progress}% (${prev.status})`,
      );
    }
    assert.equal(heard.at(-1)!.status, "completed");
    assert.equal(heard.at(-1)!.progress, 100);
  }));
