/**
 * Resume after a reload or a tab crash (issue #8, 3), against the REAL server: the engine
 * lists the unfinished uploads of its session; a file kept in the BlobStore continues without
 * being picked, a bigger one waits for the same file (name, size, date, first bytes).
 */
import assert from "node:assert/strict";
import { fileBytes } from "../../server/testing/harness.ts";
import { MemoryBlobStore } from "./blob_store.ts";
import { UploadEngine } from "./engine.ts";
import { response } from "./fakes.ts";
import { MemoryKeyValueStore } from "./memory_store.ts";
import type { PendingUpload } from "./pending.ts";
import { sha256, startTestServer, TestHttp, type TestServer, waitFor, within } from "./testing.ts";
import type { EngineOptions, HttpStack } from "./types.ts";

const KiB = 1024;
const CHUNK = 256 * KiB;
const LAST_MODIFIED = 1_700_000_000_000;
const PENDING = "|pending";

/** A MemoryKeyValueStore that tells when a write makes `predicate` true. */
class WatchedStore extends MemoryKeyValueStore {
  #waiters = new Set<() => void>();
  override set(key: string, value: string): void {
    super.set(key, value);
    for (const wake of this.#waiters) wake();
  }
  pending(): PendingUpload[] {
    for (const [k, v] of this.map) if (k.endsWith(PENDING)) return JSON.parse(v);
    return [];
  }
  async listed(what: string, predicate: (list: PendingUpload[]) => boolean): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const wake = () => predicate(this.pending()) && resolve();
    this.#waiters.add(wake);
    wake();
    try {
      await within(promise, what);
    } finally {
      this.#waiters.delete(wake);
    }
  }
}

interface Ctx extends AsyncDisposable {
  server: TestServer;
  store: WatchedStore;
  blobs: MemoryBlobStore;
  engine(http: HttpStack, options?: Partial<EngineOptions>): UploadEngine;
}

async function setup(quota = Infinity): Promise<Ctx> {
  const server = await startTestServer();
  const store = new WatchedStore();
  const blobs = new MemoryBlobStore(quota);
  const engines: UploadEngine[] = [];
  return {
    server,
    store,
    blobs,
    engine(http, options = {}) {
      const engine = new UploadEngine({
        endpoint: server.url,
        category: "personal",
        clientType: "web",
        http,
        store,
        blobs,
        persistMaxSize: 4 * CHUNK,
        connectSocket: null,
        chunkSize: CHUNK,
        random: () => 0.03,
        ...options,
      });
      engines.push(engine);
      return engine;
    },
    async [Symbol.asyncDispose]() {
      for (const engine of engines) engine.destroy();
      await server[Symbol.asyncDispose]();
    },
  };
}

const pick = (bytes: Uint8Array<ArrayBuffer>, name = "v.mp4", lastModified = LAST_MODIFIED) =>
  new File([bytes], name, { type: "video/mp4", lastModified });

/** Starts `file`, holds its PATCH at 2 chunks, and drops the page once it is listed. */
async function crashMidway(ctx: Ctx, file: File): Promise<string> {
  const http = new TestHttp();
  http.holdIf = (r) => r.method === "PATCH" && r.headers["Upload-Offset"] === String(2 * CHUNK);
  const first = ctx.engine(http);
  first.addFiles([file]);
  await first.start();
  await http.held();
  await ctx.store.listed("the upload listed", (l) => l.some((p) => p.name === file.name));
  const sessionId = first.snapshot.sessionId!;
  first.destroy();
  await http.drain();
  return sessionId;
}

async function storedSha(ctx: Ctx, path: string | null | undefined): Promise<string> {
  assert.ok(path, "an uploadPath");
  return await sha256(await Deno.readFile(`${ctx.server.dataDir}/uploads/${path}`));
}

Deno.test("reload - a small kept file is listed with its percent and continues without a pick", async () => {
  await using ctx = await setup();
  const bytes = fileBytes(3 * CHUNK + 7);
  const sessionId = await crashMidway(ctx, pick(bytes));
  assert.equal(ctx.store.pending()[0]!.kept, true);
  assert.equal(ctx.blobs.map.size, 1);

  const http = new TestHttp();
  const second = ctx.engine(http);
  const listed = await waitFor(second, (s) => s.files.length === 1, "the upload listed");
  const f = listed.files[0]!;
  assert.equal(listed.sessionId, sessionId);
  assert.deepEqual([f.name, f.size, f.status, f.waiting], [
    "v.mp4",
    bytes.length,
    "paused",
    "ready",
  ]);
  assert.equal(f.bytesConfirmed, 2 * CHUNK, "the server's offset, from a HEAD");
  assert.equal(f.remote, false);

  second.resume(f.id); // Continue
  const done = await waitFor(second, (s) => s.complete, "completed");
  assert.equal(http.count("POST"), 0, "no new session, no new upload");
  assert.equal(http.patchBytes, bytes.length - 2 * CHUNK);
  assert.equal(await storedSha(ctx, done.files[0]!.uploadPath), await sha256(bytes));
  assert.equal(ctx.blobs.map.size, 0, "the kept file goes on completion");
  assert.deepEqual(ctx.store.pending(), [], "so does its record");
});

Deno.test("reload - a big file waits; a wrong file is refused by fingerprint, the same one continues", async () => {
  await using ctx = await setup();
  const bytes = fileBytes(6 * CHUNK + 3);
  await crashMidway(ctx, pick(bytes));
  assert.equal(ctx.store.pending()[0]!.kept, false, "over persistMaxSize: not kept");
  assert.equal(ctx.blobs.map.size, 0);

  const http = new TestHttp();
  const second = ctx.engine(http);
  const listed = await waitFor(second, (s) => s.files.length === 1, "the upload listed");
  const f = listed.files[0]!;
  assert.deepEqual([f.status, f.waiting, f.bytesConfirmed], ["paused", "file", 2 * CHUNK]);
  second.resume(f.id); // nothing to send without the file
  assert.equal(second.snapshot.files[0]!.status, "paused");

  const other = fileBytes(6 * CHUNK + 3);
  other[5] = other[5]! ^ 0xff; // same name, size and date; other first bytes
  assert.equal(await second.continueWith(f.id, pick(other)), false, "first bytes differ");
  assert.equal(
    await second.continueWith(f.id, pick(bytes, "v.mp4", LAST_MODIFIED + 1)),
    false,
    "another date",
  );
  assert.equal(http.count("PATCH"), 0);
  assert.equal(second.snapshot.files[0]!.waiting, "file");

  assert.equal(await second.continueWith(f.id, pick(bytes)), true);
  const done = await waitFor(second, (s) => s.complete, "completed");
  assert.equal(http.count("POST"), 0);
  assert.equal(http.patchBytes, bytes.length - 2 * CHUNK, "continued from the server's offset");
  assert.equal(await storedSha(ctx, done.files[0]!.uploadPath), await sha256(bytes));
  assert.deepEqual(ctx.store.pending(), []);
});

Deno.test("reload - a quota error falls back to asking for the file", async () => {
  await using ctx = await setup(CHUNK); // smaller than the file
  const bytes = fileBytes(3 * CHUNK);
  await crashMidway(ctx, pick(bytes));
  assert.equal(ctx.store.pending()[0]!.kept, false);
  const second = ctx.engine(new TestHttp());
  const listed = await waitFor(second, (s) => s.files.length === 1, "the upload listed");
  assert.equal(listed.files[0]!.waiting, "file");
  assert.equal(await second.continueWith(listed.files[0]!.id, pick(bytes)), true);
  await waitFor(second, (s) => s.complete, "completed");
});

Deno.test("reload - an upload of an expired session is dropped from the list, its file too", async () => {
  await using ctx = await setup();
  await crashMidway(ctx, pick(fileBytes(3 * CHUNK)));
  assert.equal(ctx.blobs.map.size, 1);
  // The server no longer knows the session (expired and purged): every HEAD is a 404.
  const expired: HttpStack = {
    send: (r) =>
      r.method === "HEAD"
        ? Promise.resolve(
          response(404, {}, { error: { code: "SESSION_NOT_FOUND", message: "gone" } }),
        )
        : new TestHttp().send(r),
  };
  const second = ctx.engine(expired);
  await second.start(); // resolves after the list was read
  assert.deepEqual(ctx.store.pending(), [], "the record dropped");
  assert.equal(ctx.blobs.map.size, 0, "the kept file deleted");
  assert.equal(second.snapshot.files.length, 0, "nothing listed");
});

Deno.test("reload - the same file picked in the drop zone takes the listed row's place", async () => {
  await using ctx = await setup();
  const bytes = fileBytes(3 * CHUNK + 1);
  await crashMidway(ctx, pick(bytes));
  const http = new TestHttp();
  const second = ctx.engine(http);
  await waitFor(second, (s) => s.files[0]?.waiting === "ready", "the upload listed");
  const [again] = second.addFiles([pick(bytes)]).added;
  assert.deepEqual(second.snapshot.files.map((f) => f.id), [again!.id], "one row, the pick");
  await second.start();
  await waitFor(second, (s) => s.complete, "completed");
  assert.equal(http.count("POST"), 0, "the same upload, no new one");
  assert.equal(http.patchBytes, bytes.length - 2 * CHUNK);
});

Deno.test("reload - with autoStart a kept file continues by itself; a big one still waits for the file", async () => {
  await using ctx = await setup();
  const small = fileBytes(3 * CHUNK + 5);
  await crashMidway(ctx, pick(small));
  const http = new TestHttp();
  const second = ctx.engine(http, { autoStart: true });
  const done = await waitFor(second, (s) => s.complete, "completed without Continue");
  assert.equal(http.count("POST"), 0, "no new session, no new upload");
  assert.equal(http.patchBytes, small.length - 2 * CHUNK);
  assert.equal(await storedSha(ctx, done.files[0]!.uploadPath), await sha256(small));

  const big = fileBytes(6 * CHUNK + 1);
  await crashMidway(ctx, pick(big, "w.mp4"));
  const third = new TestHttp();
  const engine = ctx.engine(third, { autoStart: true });
  await waitFor(engine, (s) => s.files.length === 1, "the upload listed");
  await engine.start(); // resolves after the list was read and the queue ran
  const f = engine.snapshot.files[0]!;
  assert.deepEqual([f.name, f.status, f.waiting], ["w.mp4", "paused", "file"]);
  assert.equal(third.count("PATCH"), 0, "nothing to send without the file");
});

Deno.test("reload - records of older sessions are checked too: gone (4xx) or complete, dropped", async () => {
  await using ctx = await setup();
  await crashMidway(ctx, pick(fileBytes(3 * CHUNK), "gone.mp4"));
  await crashMidway(ctx, pick(fileBytes(3 * CHUNK + 1), "whole.mp4"));
  await crashMidway(ctx, pick(fileBytes(3 * CHUNK + 2), "alive.mp4"));
  const newest = await crashMidway(ctx, pick(fileBytes(3 * CHUNK + 3), "shown.mp4"));
  // The engine reuses the stored session: the first three are made records of an older one.
  const [key] = [...ctx.store.map.keys()].filter((k) => k.endsWith(PENDING));
  const older = (p: PendingUpload) =>
    p.name === "shown.mp4" ? p : { ...p, sessionId: "an-older-session", at: p.at - 86_400_000 };
  ctx.store.set(key!, JSON.stringify(ctx.store.pending().map(older)));
  for (const [k, v] of [...ctx.store.map]) { // and so are their resume entries
    if (k.endsWith(PENDING) || k.includes("shown.mp4")) continue;
    ctx.store.map.delete(k);
    ctx.store.set(
      k.replace(newest, "an-older-session"),
      v.replace(newest, "an-older-session"),
    );
  }
  const url = (name: string) => ctx.store.pending().find((p) => p.name === name)!.uploadUrl;
  const [gone, whole] = [url("gone.mp4"), url("whole.mp4")];
  assert.equal(ctx.blobs.map.size, 4);
  const http = new TestHttp();
  // The server no longer has one (its session expired), and has another whole (another tab).
  const server: HttpStack = {
    send: (r) =>
      r.method === "HEAD" && r.url === gone
        ? Promise.resolve(
          response(404, {}, { error: { code: "SESSION_NOT_FOUND", message: "gone" } }),
        )
        : r.method === "HEAD" && r.url === whole
        ? Promise.resolve(response(200, { "Upload-Offset": String(3 * CHUNK + 1) }))
        : http.send(r),
  };
  const engine = ctx.engine(server);
  await engine.start(); // resolves after the list was read
  assert.deepEqual(engine.snapshot.files.map((f) => f.name), ["shown.mp4"]);
  assert.equal(engine.snapshot.sessionId, newest);
  assert.deepEqual(ctx.store.pending().map((p) => p.name).sort(), ["alive.mp4", "shown.mp4"]);
  assert.equal(ctx.blobs.map.size, 2, "the dropped records' kept files deleted");
  const keys = [...ctx.store.map.keys()];
  assert.ok(keys.some((k) => k.includes("an-older-session|alive.mp4")), keys.join());
  assert.deepEqual(
    keys.filter((k) => /gone\.mp4|whole\.mp4/.test(k)),
    [],
    "their resume entries removed",
  );
});
