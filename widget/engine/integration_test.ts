/**
 * The engine against the REAL server (in-process, temp data folder), real tus requests over
 * fetch and real socket.io-client sockets. Every wait is on a snapshot, an engine event or a
 * socket event, bounded by a deadline; requests are held or failed by a wrapping HttpStack.
 */
import assert from "node:assert/strict";
import { fileBytes } from "../../server/testing/harness.ts";
import { UploadEngine } from "./engine.ts";
import { MemoryKeyValueStore } from "./memory_store.ts";
import {
  recordEvents,
  sha256,
  SocketPool,
  startTestServer,
  TestHttp,
  type TestServer,
  waitFor,
} from "./testing.ts";
import type { EngineOptions, EngineSnapshot, FileSnapshot, HttpRequest } from "./types.ts";

const KiB = 1024;
const CHUNK = 256 * KiB;
const LAST_MODIFIED = 1_700_000_000_000;

function jpeg(name: string, size: number): File {
  return new File([fileBytes(size)], name, { type: "image/jpeg", lastModified: LAST_MODIFIED });
}

interface Ctx extends AsyncDisposable {
  server: TestServer;
  pool: SocketPool;
  http: TestHttp;
  store: MemoryKeyValueStore;
  engine(options?: Partial<EngineOptions>): UploadEngine;
}

async function setup(env: Record<string, string> = {}, pool?: SocketPool): Promise<Ctx> {
  const server = await startTestServer(env);
  const sockets = pool ?? new SocketPool();
  const http = new TestHttp();
  const store = new MemoryKeyValueStore();
  const engines: UploadEngine[] = [];
  const stacks = new Set<TestHttp>([http]);
  return {
    server,
    pool: sockets,
    http,
    store,
    engine(options = {}) {
      if (options.http instanceof TestHttp) stacks.add(options.http);
      const engine = new UploadEngine({
        endpoint: server.url,
        category: "personal",
        clientType: "web",
        http,
        store,
        connectSocket: sockets.connect,
        chunkSize: CHUNK,
        random: () => 0.03, // 30 ms below the first 1 s ceiling
        ...options,
      });
      engines.push(engine);
      return engine;
    },
    async [Symbol.asyncDispose]() {
      for (const engine of engines) engine.destroy();
      await sockets.close();
      for (const stack of stacks) await stack.drain();
      await server[Symbol.asyncDispose]();
    },
  };
}

const byId = (s: EngineSnapshot, id: string): FileSnapshot => {
  const file = s.files.find((f) => f.id === id);
  assert.ok(file, `file ${id} in the snapshot`);
  return file;
};

async function storedSha(ctx: Ctx, uploadPath: string | null): Promise<string> {
  assert.ok(uploadPath, "an uploadPath");
  return await sha256(await Deno.readFile(`${ctx.server.dataDir}/uploads/${uploadPath}`));
}

/** Matches the PATCH at `offset` (of the upload at `url()`, when given). */
const patchAt = (offset: number, url?: () => string | null) => (r: HttpRequest) =>
  r.method === "PATCH" && r.headers["Upload-Offset"] === String(offset) &&
  (!url || r.url === url());

Deno.test("engine - three JPEGs go up over tus, are stored intact, session-complete fires once", async () => {
  await using ctx = await setup();
  const engine = ctx.engine();
  const events = recordEvents(engine);
  const snapshots: EngineSnapshot[] = [];
  engine.subscribe((s) => snapshots.push(s));
  const files = [jpeg("a.jpg", 700_000), jpeg("b.jpg", 300_000), jpeg("c.jpg", 1_000_001)];

  const { added, rejected } = engine.addFiles(files);
  assert.equal(added.length, 3);
  assert.deepEqual(rejected, []);
  assert.ok(added.every((f) => /^[A-Za-z0-9_-]{1,64}$/.test(f.id) && f.status === "queued"));
  await engine.start();
  const done = await waitFor(engine, (s) => s.complete, "every file completed");
  await ctx.pool.heard("session-completed");

  for (const [i, file] of files.entries()) {
    const snap = byId(done, added[i]!.id);
    assert.equal(snap.status, "completed");
    assert.equal(snap.progress, 1);
    assert.equal(snap.bytesConfirmed, file.size);
    assert.equal(await storedSha(ctx, snap.uploadPath), await sha256(file));
  }
  assert.equal(done.connection, "connected");
  assert.equal(done.totals.progress, 1);
  assert.equal(done.totals.bytes, 2_000_001);
  assert.equal(done.busy, false);
  assert.deepEqual(done.limits?.allowedTypes, ["image/*", "video/*"]);

  const completes = events.filter((e) => e.name === "session-complete");
  assert.equal(completes.length, 1, "session-complete once");
  const detail = completes[0]!.detail as { sessionId: string; uploadPaths: string[] };
  assert.equal(detail.sessionId, done.sessionId);
  assert.deepEqual(detail.uploadPaths.toSorted(), done.files.map((f) => f.uploadPath).toSorted());
  for (const name of ["upload-start", "upload-complete"] as const) {
    assert.equal(events.filter((e) => e.name === name).length, 3, `${name} once per file`);
  }

  // The spec's upload-start announced the batch once, with the local ids as fileIds.
  const starts = ctx.pool.sent.filter((e) => e.name === "upload-start");
  assert.equal(starts.length, 1);
  const start = starts[0]!.payload as { sessionId: string; fileIds: string[]; category: string };
  assert.deepEqual(start.fileIds.toSorted(), added.map((f) => f.id).toSorted());
  assert.equal(start.category, "personal");
  assert.equal(start.sessionId, done.sessionId);

  // Progress never went backwards in any snapshot, and the resume entries are gone.
  for (const { id } of added) {
    const seen = snapshots.map((s) => s.files.find((f) => f.id === id)!);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]!.progress >= seen[i - 1]!.progress, "progress is monotonic");
      assert.ok(seen[i]!.bytesConfirmed >= seen[i - 1]!.bytesConfirmed);
    }
  }
  assert.equal(ctx.store.map.size, 0, "no resume entry left");
  assert.equal(ctx.http.count("POST /api/sessions"), 1);
});

Deno.test("engine - pause, resume from the server's offset, cancel", async () => {
  await using ctx = await setup();
  const engine = ctx.engine({ parallel: 1 });
  const events = recordEvents(engine);
  const a = jpeg("a.jpg", 4 * CHUNK + 17);
  const b = jpeg("b.jpg", 3 * CHUNK);
  const [fa, fb] = engine.addFiles([a, b]).added;
  const url = (id: string) => () => engine.snapshot.files.find((f) => f.id === id)!.uploadUrl;
  ctx.http.holdIf = patchAt(CHUNK, url(fa!.id));
  await engine.start();
  await ctx.http.held();

  // Pause: local abort plus the server's paused state, heard by the room.
  engine.pause(fa!.id);
  assert.equal(byId(engine.snapshot, fa!.id).status, "paused");
  await ctx.pool.heard("upload-paused", (p: { fileId: string }) => p.fileId === fa!.id);
  assert.equal(byId(engine.snapshot, fa!.id).bytesConfirmed, CHUNK);

  // The slot went to b; cancel it mid-upload.
  ctx.http.holdIf = patchAt(CHUNK, url(fb!.id));
  await ctx.http.held();
  const bUrl = byId(engine.snapshot, fb!.id).uploadUrl!;
  engine.cancel(fb!.id);
  assert.equal(byId(engine.snapshot, fb!.id).status, "cancelled");
  await ctx.pool.heard("upload-cancelled", (p: { fileId: string }) => p.fileId === fb!.id);
  const head = await fetch(bUrl, {
    method: "HEAD",
    headers: {
      "Tus-Resumable": "1.0.0",
      Authorization: `Bearer ${JSON.parse([...ctx.store.map.values()][0]!).token}`,
    },
  });
  assert.equal(head.status, 410, "the cancelled upload is gone on the server");
  assert.ok(
    [...ctx.store.map.keys()].every((k) => !k.includes("b.jpg")),
    "b's resume entry removed",
  );

  // Resume: upload-resume, then HEAD, then only the missing bytes.
  ctx.http.holdIf = undefined;
  const before = ctx.http.patchBytes;
  const heads = ctx.http.count("HEAD");
  engine.resume(fa!.id);
  const done = await waitFor(engine, (s) => s.complete, "a completed, b cancelled");
  assert.ok(ctx.pool.sent.some((e) => e.name === "upload-resume"));
  assert.ok(ctx.http.count("HEAD") > heads, "resumed from a HEAD");
  assert.equal(ctx.http.patchBytes - before, a.size - CHUNK, "only the missing bytes were sent");
  assert.equal(await storedSha(ctx, byId(done, fa!.id).uploadPath), await sha256(a));
  const completes = events.filter((e) => e.name === "session-complete");
  assert.equal(completes.length, 1);
  assert.equal((completes[0]!.detail as { uploadPaths: string[] }).uploadPaths.length, 1);
  assert.ok(!events.some((e) => e.name === "upload-error"), "pause and cancel are not errors");
});

Deno.test("engine - a second engine on the session hears the other's pause and completion, and commands it", async () => {
  await using ctx = await setup();
  const { sessionId, token } = await ctx.server.createSession();
  const http1 = new TestHttp();
  const owner = ctx.engine({ sessionId, token, http: http1 });
  const watcher = ctx.engine({ sessionId, token, http: new TestHttp() });
  const watcherEvents = recordEvents(watcher);
  await watcher.start();
  await waitFor(watcher, (s) => s.connection === "connected", "watcher connected");

  const file = jpeg("shared.jpg", 5 * CHUNK);
  const [added] = owner.addFiles([file]).added;
  const id = added!.id;
  http1.holdIf = patchAt(CHUNK);
  await owner.start();
  await http1.held();
  const remote = await waitFor(
    watcher,
    (s) => s.files.some((f) => f.id === id && f.status === "uploading"),
    "the watcher sees the owner's file",
  );
  assert.equal(byId(remote, id).remote, true);
  assert.equal(byId(remote, id).name, "shared.jpg");
  assert.equal(byId(remote, id).size, file.size);
  assert.equal(watcher.file(id), undefined);

  // 1. The owner pauses: the watcher hears it (and the bytes received) from the socket.
  owner.pause(id);
  const pausedThere = await waitFor(
    watcher,
    (s) => byId(s, id).status === "paused",
    "the watcher sees the pause",
  );
  assert.equal(byId(pausedThere, id).bytesConfirmed, CHUNK);

  // 2. The watcher resumes the owner's file: the owner continues (and is held again).
  http1.holdIf = patchAt(2 * CHUNK);
  watcher.resume(id);
  await http1.held();
  assert.equal(byId(owner.snapshot, id).status, "uploading");

  // 3. The watcher pauses it: the owner's PATCH stops and the file is paused, not failed.
  watcher.pause(id);
  const paused = await waitFor(owner, (s) => byId(s, id).status === "paused", "owner paused");
  assert.equal(byId(paused, id).error, null);

  // 4. The owner resumes; both see the completion.
  http1.holdIf = undefined;
  owner.resume(id);
  const done = await waitFor(owner, (s) => s.complete, "owner complete");
  const seen = await waitFor(watcher, (s) => s.complete, "watcher complete");
  assert.equal(byId(seen, id).uploadPath, byId(done, id).uploadPath);
  assert.equal(await storedSha(ctx, byId(done, id).uploadPath), await sha256(file));
  await ctx.pool.heard("session-completed");
  const completes = watcherEvents.filter((e) => e.name === "session-complete");
  assert.equal(completes.length, 1, "the watcher's session-complete fires once");
  assert.deepEqual(
    (completes[0]!.detail as { uploadPaths: string[] }).uploadPaths,
    [byId(done, id).uploadPath],
  );
});

Deno.test("engine - without a socket it polls the session and still completes", async () => {
  await using ctx = await setup();
  const engine = ctx.engine({ connectSocket: null, pollIntervalMs: 20 });
  const events = recordEvents(engine);
  const files = [jpeg("a.jpg", 600_000), jpeg("b.jpg", 200_000)];
  const { added } = engine.addFiles(files);
  await engine.start();
  assert.equal(engine.snapshot.connection, "polling");
  const done = await waitFor(engine, (s) => s.complete, "complete by polling");
  for (const [i, file] of files.entries()) {
    assert.equal(await storedSha(ctx, byId(done, added[i]!.id).uploadPath), await sha256(file));
  }
  assert.ok(ctx.http.count("GET /api/sessions/") >= 1, "the session was polled");
  assert.equal(events.filter((e) => e.name === "session-complete").length, 1);
});

Deno.test("engine - a socket that cannot connect falls back to polling", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using ctx = await setup({}, new SocketPool(`http://127.0.0.1:${deadPort}`));
  const engine = ctx.engine({ pollIntervalMs: 20 });
  const states: string[] = [];
  engine.subscribe((s) => states.at(-1) !== s.connection && states.push(s.connection));
  const [file] = engine.addFiles([jpeg("a.jpg", 300_000)]).added;
  await engine.start();
  const done = await waitFor(engine, (s) => s.complete, "complete by polling");
  assert.equal(done.connection, "polling");
  assert.ok(states.includes("polling"));
  assert.ok(byId(done, file!.id).uploadPath);
});

Deno.test("engine - after a reload, the re-picked file continues from the server's offset", async () => {
  await using ctx = await setup();
  const bytes = fileBytes(8 * CHUNK + 5);
  const pick = () =>
    new File([bytes], "big.jpg", { type: "image/jpeg", lastModified: LAST_MODIFIED });
  const http1 = new TestHttp();
  http1.holdIf = patchAt(3 * CHUNK);
  const first = ctx.engine({ http: http1 });
  first.addFiles([pick()]);
  await first.start();
  await http1.held();
  const sessionId = first.snapshot.sessionId;
  first.destroy(); // the page goes away mid-upload
  await http1.drain();
  assert.ok([...ctx.store.map.keys()].some((k) => k.startsWith("h5-uploader:")));

  // A new page: no session given; the stored session's token still works.
  const http2 = new TestHttp();
  const second = ctx.engine({ http: http2 });
  const [again] = second.addFiles([pick()]).added;
  await second.start();
  const done = await waitFor(second, (s) => s.complete, "the re-picked file completed");
  assert.equal(done.sessionId, sessionId, "the stored session was reused");
  assert.equal(http2.count("POST"), 0, "no new session and no new upload");
  assert.ok(http2.count("HEAD") >= 1);
  assert.equal(http2.patchBytes, bytes.length - 3 * CHUNK, "continued from the HEAD offset");
  assert.equal(await storedSha(ctx, byId(done, again!.id).uploadPath), await sha256(bytes));
  assert.equal(ctx.store.map.size, 0, "the resume entry is removed on completion");
});

Deno.test("engine - a network failure is retried from HEAD and the file completes intact", async () => {
  await using ctx = await setup();
  ctx.http.failPatches.add(2);
  const engine = ctx.engine();
  const events = recordEvents(engine);
  const retries: string[] = [];
  engine.subscribe((s) => {
    const f = s.files[0];
    if (f?.retry) retries.push(`${f.status} ${f.retry.attempt}/${f.retry.max}`);
  });
  const file = jpeg("a.jpg", 4 * CHUNK);
  const [added] = engine.addFiles([file]).added;
  await engine.start();
  const done = await waitFor(engine, (s) => s.complete, "completed after a retry");
  assert.ok(retries.includes("retrying 1/5"), `retry shown: ${retries}`);
  assert.equal(byId(done, added!.id).retry, null, "the progress since forgave the failure");
  const errors = events.filter((e) => e.name === "upload-error");
  assert.equal(errors.length, 1);
  const error = errors[0]!.detail as { willRetry: boolean; error: { code: string } };
  assert.equal(error.willRetry, true);
  assert.equal(error.error.code, "NETWORK_ERROR");
  assert.equal(ctx.http.count("HEAD"), 1, "the retry asked the server's offset");
  assert.equal(await storedSha(ctx, byId(done, added!.id).uploadPath), await sha256(file));
});

Deno.test("engine - server refusals (type, size, content) fail for good without retries", async () => {
  await using ctx = await setup({ H5_PERSONAL_MAX_FILE_SIZE: "100000" });
  const engine = ctx.engine();
  const events = recordEvents(engine);
  const exe = new File([new TextEncoder().encode("MZ" + "x".repeat(4000))], "setup.exe", {
    type: "application/x-msdownload",
  });
  const big = jpeg("big.jpg", 200_000);
  const fake = new File([new TextEncoder().encode("#!/bin/sh\n".repeat(500))], "fake.jpg", {
    type: "image/jpeg",
  });
  const { added, rejected } = engine.addFiles([exe, big, fake]);
  assert.equal(added.length, 3, "no limits are known before the session exists");
  assert.deepEqual(rejected, []);
  await engine.start();
  const s = await waitFor(
    engine,
    (s) => s.files.every((f) => f.status === "failed"),
    "every file refused",
  );
  const codes = added.map((f) => byId(s, f.id).error?.code);
  assert.deepEqual(codes, ["FILE_TYPE_NOT_ALLOWED", "FILE_TOO_LARGE", "FILE_TYPE_NOT_ALLOWED"]);
  for (const f of s.files) {
    assert.equal(f.canRetry, false);
    assert.equal(f.retry, null);
  }
  assert.equal(ctx.http.count("HEAD"), 0, "no retry");
  assert.equal(ctx.http.count("PATCH"), 1, "only the fake JPEG's bytes were sent once");
  const errors = events.filter((e) => e.name === "upload-error");
  assert.equal(errors.length, 3);
  assert.ok(errors.every((e) => (e.detail as { willRetry: boolean }).willRetry === false));
  engine.retry(added[0]!.id);
  assert.equal(byId(engine.snapshot, added[0]!.id).status, "failed", "no manual retry for a type");
  assert.equal(s.complete, false);

  // Now the session's limits are known: the same files are refused before sending anything.
  const again = engine.addFiles([jpeg("big2.jpg", 200_000), exe]);
  assert.deepEqual(again.rejected.map((r) => r.reason), ["size", "type"]);
  assert.ok(!events.some((e) => e.name === "session-complete"));
});
