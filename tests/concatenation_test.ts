/**
 * tus concatenation on a real server: parts claimed once under lock, finals over parts still
 * uploading (concatenation-unfinished), parts that survive a restart, and partial uploads
 * counted in the session's quotas and expired with it.
 */
import assert from "node:assert/strict";
import type { ErrorPayload } from "../protocol/errors.ts";
import { fileBytes, metadata, sha256Hex } from "../server/testing/harness.ts";
import { within } from "./support/deadline.ts";
import { FsWatch } from "./support/fs_watch.ts";
import {
  bearer,
  createSession,
  createUpload,
  exists,
  getSnapshot,
  head,
  listTree,
  patch,
  TUS,
} from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { connectWatcher } from "./support/socket.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

interface Answer {
  status: number;
  location: string | null;
  error: ErrorPayload | null;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  return {
    status: res.status,
    location: res.headers.get("Location"),
    error: text ? (JSON.parse(text) as { error: ErrorPayload }).error : null,
  };
}

/** POST `Upload-Concat: partial` of `length` bytes (tus-js-client sends no metadata). */
async function partial(server: TestServer, token: string | null, length: number): Promise<Answer> {
  return await answer(
    await fetch(server.tusEndpoint, {
      method: "POST",
      headers: {
        ...TUS,
        ...(token ? bearer(token) : {}),
        "Upload-Length": String(length),
        "Upload-Concat": "partial",
      },
    }),
  );
}

/** POST `Upload-Concat: final;<paths>` for an image file. */
async function final(
  server: TestServer,
  token: string | null,
  parts: string[],
  filename = "joined.jpg",
): Promise<Answer> {
  return await answer(
    await fetch(server.tusEndpoint, {
      method: "POST",
      headers: {
        ...TUS,
        ...(token ? bearer(token) : {}),
        "Upload-Concat": `final;${parts.map((p) => new URL(p).pathname).join(" ")}`,
        "Upload-Metadata": metadata({ filename, filetype: "image/jpeg" }),
      },
    }),
  );
}

async function created(what: string, pending: Promise<Answer>): Promise<string> {
  const res = await pending;
  assert.equal(res.status, 201, `${what}: ${JSON.stringify(res.error)}`);
  assert.ok(res.location);
  return res.location;
}

async function upload(location: string, token: string | null, offset: number, bytes: Uint8Array) {
  const res = await patch(location, token, offset, bytes.slice());
  assert.equal(res.status, 204, `PATCH ${location}: ${JSON.stringify(res.error)}`);
  return res;
}

async function download(location: string, token: string): Promise<Uint8Array<ArrayBuffer>> {
  const res = await fetch(location, { headers: bearer(token) });
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

/** Part files still on disk (`uploads/.parts`). */
async function partFiles(server: TestServer): Promise<string[]> {
  return (await listTree(server.uploadsDir)).filter((p) =>
    p.startsWith(".parts/") && p !== ".parts/"
  );
}

Deno.test("concatenation-unfinished: a final over a part still uploading completes with it", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const s = await createSession(server.url);
    const data = fileBytes(3000);
    const a = await created("partial a", partial(server, s.token, 1000));
    const b = await created("partial b", partial(server, s.token, 2000));
    await upload(a, s.token, 0, data.slice(0, 1000));
    await upload(b, s.token, 0, data.slice(1000, 1700));

    const joined = await created("final over an unfinished part", final(server, s.token, [a, b]));
    const waiting = await head(joined, s.token);
    assert.equal(waiting.status, 200);
    assert.equal(waiting.offset, 1700, "the final reports what its parts hold");
    assert.equal(waiting.length, 3000);
    const early = await fetch(joined, { headers: bearer(s.token) });
    await early.body?.cancel();
    assert.equal(early.status, 409, "nothing to download before the last part");

    await upload(b, s.token, 700, data.slice(1700));
    const done = await head(joined, s.token);
    assert.equal(done.offset, 3000);
    assert.equal(done.length, 3000);
    assert.equal(await sha256Hex(await download(joined, s.token)), await sha256Hex(data));
    const snapshot = await getSnapshot(server.url, s);
    assert.deepEqual(snapshot.files.map((f) => f.status), ["completed"]);
    assert.deepEqual(await partFiles(server), [], "joined parts leave no bytes behind");
  }));

Deno.test("concatenation: parts listed twice, not partial, or already joined get 400 CONCAT_PART_INVALID", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const s = await createSession(server.url);
    const data = fileBytes(200);
    const a = await created("partial a", partial(server, s.token, 100));
    const b = await created("partial b", partial(server, s.token, 100));
    await upload(a, s.token, 0, data.slice(0, 100));
    await upload(b, s.token, 0, data.slice(100));

    const twice = await final(server, s.token, [a, a]);
    assert.equal(twice.status, 400);
    assert.equal(twice.error?.code, "CONCAT_PART_INVALID");

    const plain = await createUpload(server.url, s, { size: 10, filename: "x.jpg" });
    const notPartial = await final(server, s.token, [a, plain.location]);
    assert.equal(notPartial.status, 400);
    assert.equal(notPartial.error?.code, "CONCAT_PART_INVALID");

    const first = await created("the first final", final(server, s.token, [a, b]));
    assert.equal(await sha256Hex(await download(first, s.token)), await sha256Hex(data));
    const again = await final(server, s.token, [b]);
    assert.equal(again.status, 400, "a joined part is consumed");
    assert.equal(again.error?.code, "CONCAT_PART_INVALID");
    const files = (await getSnapshot(server.url, s)).files;
    const finals = files.filter((f) => f.originalName === "joined.jpg");
    assert.deepEqual(finals.map((f) => f.status), ["completed"], "refused finals leave nothing");
  }));

Deno.test("concatenation: three concurrent finals over the same parts make one file", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const s = await createSession(server.url);
    const data = fileBytes(64 * 1024);
    const parts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const part = await created(`partial ${i}`, partial(server, s.token, 16 * 1024));
      await upload(part, s.token, 0, data.slice(i * 16 * 1024, (i + 1) * 16 * 1024));
      parts.push(part);
    }
    const answers = await within(
      Promise.all([0, 1, 2].map(() => final(server, s.token, parts))),
      "three concurrent finals",
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 400, 400], JSON.stringify(answers));
    assert.ok(
      answers.filter((a) => a.status === 400).every((a) => a.error?.code === "CONCAT_PART_INVALID"),
    );
    const winner = answers.find((a) => a.status === 201)!.location!;
    assert.equal(await sha256Hex(await download(winner, s.token)), await sha256Hex(data));
    const stored = (await listTree(server.uploadsDir)).filter((p) => /\.jpg$/.test(p));
    assert.equal(stored.length, 1, `one file on disk: ${stored.join(", ")}`);
    const files = (await getSnapshot(server.url, s)).files;
    assert.deepEqual(files.map((f) => f.status), ["completed"], "no pending final left behind");
  }));

Deno.test("concatenation: finished partials survive a restart and are joined after it", () =>
  scoped(async (scope) => {
    const dataDir = await Deno.makeTempDir({ prefix: "h5-e2e-concat-" });
    scope.defer("remove the data folder", () => Deno.remove(dataDir, { recursive: true }));
    const data = fileBytes(3000);
    const first = await startTestServer({ dataDir });
    const s = await createSession(first.url);
    const parts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const part = await created(`partial ${i}`, partial(first, s.token, 1000));
      await upload(part, s.token, 0, data.slice(i * 1000, (i + 1) * 1000));
      parts.push(part);
    }
    await first.close();

    const second = await startTestServer({ dataDir, scope });
    const moved = (url: string) => new URL(new URL(url).pathname, second.url).href;
    const joined = await created(
      "the final after the restart",
      final(second, s.token, parts.map(moved)),
    );
    assert.equal(await sha256Hex(await download(moved(joined), s.token)), await sha256Hex(data));
    const files = (await getSnapshot(second.url, s)).files;
    assert.deepEqual(files.map((f) => f.status), ["completed"]);
  }));

Deno.test("concatenation-unfinished: a final waiting on a part across a restart completes with it", () =>
  scoped(async (scope) => {
    const dataDir = await Deno.makeTempDir({ prefix: "h5-e2e-concat-" });
    scope.defer("remove the data folder", () => Deno.remove(dataDir, { recursive: true }));
    const data = fileBytes(500);
    const first = await startTestServer({ dataDir });
    const s = await createSession(first.url);
    const late = await created("partial", partial(first, s.token, 500));
    await upload(late, s.token, 0, data.slice(0, 200));
    const lateFinal = await created("final over the part", final(first, s.token, [late]));
    await first.close();

    const second = await startTestServer({ dataDir, scope });
    const moved = (url: string) => new URL(new URL(url).pathname, second.url).href;
    assert.equal((await head(moved(lateFinal), s.token)).offset, 200);
    await upload(moved(late), s.token, 200, data.slice(200));
    assert.equal((await head(moved(lateFinal), s.token)).offset, 500);
    assert.equal(await sha256Hex(await download(moved(lateFinal), s.token)), await sha256Hex(data));
    const files = (await getSnapshot(second.url, s)).files;
    assert.deepEqual(files.map((f) => f.status), ["completed"]);
    assert.deepEqual(await partFiles(second), []);
  }));

Deno.test("concatenation: partials count in the session's file and size limits; the final's content is checked", () =>
  scoped(async (scope) => {
    const server = await startTestServer({
      scope,
      env: { H5_PERSONAL_MAX_FILES: "2", H5_PERSONAL_MAX_FILE_SIZE: "1000" },
    });
    // Open partials make up files by their bytes: 2 x 600 fit two 1000-byte files, 4 do not.
    const s = await createSession(server.url);
    await created("partial 1", partial(server, s.token, 600));
    await created("partial 2", partial(server, s.token, 600));
    await created("partial 3", partial(server, s.token, 600));
    const fourth = await partial(server, s.token, 600);
    assert.equal(fourth.status, 409);
    assert.equal(fourth.error?.code, "TOO_MANY_FILES");
    const tooBig = await partial(server, s.token, 1001);
    assert.equal(tooBig.status, 413, "one part over the file size limit");

    // A final over parts adding up to more than the file size limit is refused.
    const s2 = await createSession(server.url);
    const a = await created("a", partial(server, s2.token, 600));
    const b = await created("b", partial(server, s2.token, 600));
    const over = await final(server, s2.token, [a, b]);
    assert.equal(over.status, 413);
    assert.equal(over.error?.code, "FILE_TOO_LARGE");

    // Beside the session's whole file limit, no partial is taken.
    const s3 = await createSession(server.url);
    for (const name of ["one.jpg", "two.jpg"]) {
      const res = await fetch(server.tusEndpoint, {
        method: "POST",
        headers: {
          ...TUS,
          ...bearer(s3.token),
          "Upload-Length": "10",
          "Upload-Metadata": metadata({ filename: name, filetype: "image/jpeg" }),
        },
      });
      await res.body?.cancel();
      assert.equal(res.status, 201);
    }
    const beside = await partial(server, s3.token, 10);
    assert.equal(beside.status, 409);
    assert.equal(beside.error?.code, "TOO_MANY_FILES");

    // The joined bytes are sniffed like any file: text declared as JPEG is refused.
    const s4 = await createSession(server.url);
    const text = new TextEncoder().encode("#!/bin/sh\necho not an image\n".repeat(30));
    const t1 = await created("text part", partial(server, s4.token, text.length));
    await upload(t1, s4.token, 0, text);
    const refused = await final(server, s4.token, [t1]);
    assert.equal(refused.status, 415);
    assert.equal(refused.error?.code, "FILE_TYPE_NOT_ALLOWED");
    const files = (await getSnapshot(server.url, s4)).files;
    assert.deepEqual(files.map((f) => f.status), ["failed"]);
    assert.equal(
      (await listTree(server.uploadsDir)).filter((p) => /\.(jpg|txt|sh)$/.test(p)).length,
      0,
    );
  }));

Deno.test("concatenation: open partials expire with their session, bytes and all", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_SESSION_TIMEOUT_MS: "3000" } });
    const s = await createSession(server.url);
    const done = await created("finished partial", partial(server, s.token, 100));
    await upload(done, s.token, 0, fileBytes(100));
    const half = await created("unfinished partial", partial(server, s.token, 100));
    await upload(half, s.token, 0, fileBytes(50));
    const partsDir = `${server.uploadsDir}/.parts`;
    assert.equal((await partFiles(server)).length, 2);

    const watch = new FsWatch(scope, [server.uploadsDir]);
    await watch.until(
      async () => ((await partFiles(server)).length === 0 ? true : null),
      "the expired session's partial bytes to be removed",
    );
    assert.ok(await exists(partsDir));
    for (const url of [done, half]) {
      const res = await head(url, s.token);
      assert.equal(res.status, 410, `HEAD ${url} after the session expired`);
    }
  }));

Deno.test("concatenation: an anonymous partial no final joined expires, bytes and all", () =>
  scoped(async (scope) => {
    const server = await startTestServer({
      scope,
      env: { H5_ALLOW_ANONYMOUS: "true", H5_SESSION_TIMEOUT_MS: "1000" },
      sweepEveryMs: 100,
    });
    const lonely = await created("anonymous partial", partial(server, null, 100));
    await upload(lonely, null, 0, fileBytes(100));
    assert.equal((await partFiles(server)).length, 1);

    const watch = new FsWatch(scope, [server.uploadsDir]);
    await watch.until(
      async () => ((await partFiles(server)).length === 0 ? true : null),
      "the unjoined partial's bytes to be removed",
    );
    const res = await head(lonely, null);
    assert.equal(res.status, 410, "HEAD of the expired partial");
    const late = await final(server, null, [lonely]);
    assert.equal(late.status, 410, "a final naming the expired partial");
    assert.equal(late.error?.code, "UPLOAD_EXPIRED");
  }));

Deno.test("concatenation-unfinished: terminating a part fails the final waiting on it, frees the rest", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const s = await createSession(server.url);
    const a = await created("partial a", partial(server, s.token, 100));
    const b = await created("partial b", partial(server, s.token, 100));
    await upload(a, s.token, 0, fileBytes(100));
    const waiting = await created("final", final(server, s.token, [a, b]));
    const del = await fetch(b, { method: "DELETE", headers: { ...TUS, ...bearer(s.token) } });
    await del.body?.cancel();
    assert.equal(del.status, 204);
    const files = (await getSnapshot(server.url, s)).files;
    assert.deepEqual(files.map((f) => f.status), ["failed"], "the final is not left pending");
    assert.equal(files[0]!.id, new URL(waiting).pathname.split("/").pop());
    // Its other part is free again for a new final.
    const c = await created("partial c", partial(server, s.token, 100));
    await upload(c, s.token, 0, fileBytes(100).slice(0, 100));
    const again = await created("a new final", final(server, s.token, [a, c]));
    assert.equal((await head(again, s.token)).offset, 200);
  }));

Deno.test("concatenation: a session with partial uploads on their way is not completed before their final", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const s = await createSession(server.url);
    const watcher = await connectWatcher(server.url, {
      sessionId: s.sessionId,
      token: s.token,
      scope,
    });
    const part = await created("partial", partial(server, s.token, 100));
    await upload(part, s.token, 0, fileBytes(100));
    const plain = await createUpload(server.url, s, { size: 100, filename: "one.jpg" });
    await upload(plain.location, s.token, 0, fileBytes(100));
    await created("final", final(server, s.token, [part]));
    // Room events arrive in order: a premature session-completed would come before this one.
    const done = await watcher.events.waitFor(
      "session-completed",
      (e) => e.summary.totalFiles === 2,
    );
    assert.equal(done.summary.completedFiles, 2);
    const all = watcher.events.named("session-completed");
    assert.equal(
      all.length,
      1,
      `session-completed fired early: ${JSON.stringify(all[0]?.summary)}`,
    );
  }));

Deno.test("concatenation: HEAD of a partial says so; a final naming an unknown part or carrying Upload-Length is refused", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_ALLOW_ANONYMOUS: "true" } });
    // Anonymous, as the conformance suite runs (tus-js-client with no session).
    const created = await fetch(server.tusEndpoint, {
      method: "POST",
      headers: { ...TUS, "Upload-Length": "6", "Upload-Concat": "partial" },
    });
    await created.body?.cancel();
    assert.equal(created.status, 201);
    const part = created.headers.get("Location")!;
    const partHead = await head(part, null);
    assert.equal(partHead.headers.get("Upload-Concat"), "partial");

    const unknown = await answer(
      await fetch(server.tusEndpoint, {
        method: "POST",
        headers: {
          ...TUS,
          "Upload-Concat": `final;${server.tusEndpoint}/non-existent-partial-12345`,
        },
      }),
    );
    assert.equal(unknown.status, 404);
    assert.equal(unknown.error?.code, "FILE_NOT_FOUND");

    const withLength = await answer(
      await fetch(server.tusEndpoint, {
        method: "POST",
        headers: {
          ...TUS,
          "Upload-Length": "6",
          "Upload-Concat": `final;${new URL(part).pathname}`,
        },
      }),
    );
    assert.equal(withLength.status, 400);
    assert.equal(withLength.error?.code, "INVALID_REQUEST");

    await upload(part, null, 0, new TextEncoder().encode("AAAAA\n"));
    const joined = await answer(
      await fetch(server.tusEndpoint, {
        method: "POST",
        headers: { ...TUS, "Upload-Concat": `final;${new URL(part).pathname}` },
      }),
    );
    assert.equal(joined.status, 201);
    const finalHead = await head(joined.location!, null);
    assert.match(finalHead.headers.get("Upload-Concat")!, /^final;/);
    assert.equal(finalHead.offset, 6);
    assert.equal(finalHead.length, 6);
  }));
