/**
 * kill -9 in the middle of a PATCH: the real server runs as a child process, is killed
 * while bytes past its last commit are in flight, and is started again on the same data
 * folder. The committed offset survives, the torn tail is dropped, the old token still
 * works, and the upload resumes from HEAD to a file with the source's sha256.
 */
import assert from "node:assert/strict";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";
import { within } from "./support/deadline.ts";
import { spawnServer } from "./support/child.ts";
import { FsWatch } from "./support/fs_watch.ts";
import {
  bearer,
  createSession,
  createUpload,
  getSnapshot,
  head,
  patch,
  streamPatch,
} from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { freePort } from "./support/server.ts";
import { connectWatcher } from "./support/socket.ts";

const MiB = 2 ** 20;

/** The first `length` bytes of a file. */
async function readHead(path: string, length: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return out.subarray(0, filled);
}

Deno.test("crash: SIGKILL mid-PATCH, restart on the same data, resume from the committed offset", () =>
  scoped(async (scope) => {
    const dataDir = await Deno.makeTempDir({ prefix: "h5-e2e-crash-" });
    scope.defer("remove the data folder", () => Deno.remove(dataDir, { recursive: true }));
    const port = freePort();
    const source = fileBytes(32 * MiB);
    const sha = await sha256Hex(source);

    // ---- the first server: a PATCH in flight, then kill -9
    const first = await spawnServer(scope, dataDir, port);
    const session = await createSession(first.url);
    const watcher = await connectWatcher(first.url, {
      sessionId: session.sessionId,
      token: session.token,
      scope,
    });
    const up = await createUpload(first.url, session, { size: source.length });
    const part = `${dataDir}/uploads/.parts/${up.id}`;
    const files = new FsWatch(scope, [dataDir]);

    const request = streamPatch(scope, up.location, session.token, 0);
    request.body.push(source.subarray(0, 8 * MiB));
    await watcher.events.waitFor("upload-started", (e) => e.fileId === up.id);
    // HEAD is the committed offset; it is asked again whenever the data folder changes
    // (the state store commits to its WAL there), so this waits on the server, not a clock.
    const committed = await files.until(async () => {
      const answer = await head(up.location, session.token);
      return answer.offset !== null && answer.offset > 0 ? answer.offset : null;
    }, "a committed offset > 0");
    assert.ok(committed <= request.body.pushed);

    // More bytes than committed go out; once some reached the part, the server dies.
    request.body.push(source.subarray(8 * MiB, 12 * MiB));
    const sent = request.body.pushed;
    const onDisk = await files.until(async () => {
      const size = (await Deno.stat(part)).size;
      return size > committed ? size : null;
    }, `the part to grow past the committed ${committed} bytes`);
    const killed = await first.stop("SIGKILL");
    assert.equal(killed.success, false);
    assert.equal(killed.signal, "SIGKILL");
    await assert.rejects(within(request.answer, "the PATCH to fail with the server gone"));
    await watcher.close();
    await files.close();

    // ---- the second server on the same folder
    const second = await spawnServer(scope, dataDir, port);
    const location = new URL(new URL(up.location).pathname, second.url).href;

    // The old token still works; the offset is what was committed before the kill.
    const after = await head(location, session.token);
    assert.equal(after.status, 200, `HEAD with the old token after the restart`);
    const offset = after.offset!;
    assert.ok(
      offset >= committed && offset <= onDisk && offset <= sent,
      `offset ${offset}: committed ${committed} before the kill, ${onDisk} on disk, ${sent} sent`,
    );
    assert.equal(after.length, source.length);

    // The part is cut back to that offset (a torn tail is dropped) and holds the source.
    const partSize = (await Deno.stat(part)).size;
    assert.equal(partSize, offset, `part of ${partSize} bytes, committed ${offset}`);
    const kept = await readHead(part, offset);
    assert.equal(kept.length, offset);
    assert.ok(
      kept.every((b, i) => b === source[i]),
      "the part's bytes are the source's first bytes",
    );

    // The interrupted upload is a retryable failure, visible to a new watcher.
    const snapshot = await getSnapshot(second.url, session);
    assert.equal(snapshot.files.length, 1);
    assert.equal(snapshot.files[0]!.id, up.id);
    assert.equal(snapshot.files[0]!.status, "failed");
    assert.equal(snapshot.files[0]!.uploadedBytes, offset);
    const again = await connectWatcher(second.url, {
      sessionId: session.sessionId,
      token: session.token,
      scope,
    });

    // Resume from HEAD to the end.
    const rest = await patch(location, session.token, offset, source.slice(offset));
    assert.equal(rest.status, 204, `resume: ${JSON.stringify(rest.error)}\n${second.output()}`);
    assert.equal(rest.offset, source.length);
    const done = await again.events.waitFor("upload-completed", (e) => e.fileId === up.id);
    const stored = await Deno.readFile(`${dataDir}/uploads/${done.uploadPath}`);
    assert.equal(await sha256Hex(stored), sha);
    const download = await fetch(location, { headers: bearer(session.token) });
    assert.equal(download.status, 200);
    assert.equal(await sha256Hex(await download.arrayBuffer()), sha);
    await again.close();

    const stopped = await second.stop("SIGTERM");
    assert.equal(stopped.code, 0, `SIGTERM exit:\n${second.output()}`);
  }));
