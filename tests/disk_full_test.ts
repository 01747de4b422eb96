/**
 * A full disk (issue #7, item 8): a PATCH that meets ENOSPC answers 507 STORAGE_FULL (logged
 * once), the part goes back to its committed offset (the space is freed), the server keeps
 * serving, and once space is freed the upload resumes from HEAD's offset and completes with
 * the right bytes. Nothing is ever reported complete with missing bytes. Real server whose
 * H5_DATA_DIR is a 2 MiB tmpfs the test mounts (root only; skipped with the reason elsewhere).
 */
import assert from "node:assert/strict";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";
import { createSession, createUpload, exists, head, patch } from "./support/http.ts";
import { EventLog } from "./support/socket.ts";
import { fillDisk, freeBytes, mountTmpfs, tmpfsProblem } from "./support/tmpfs.ts";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";

const problem = await tmpfsProblem();
if (problem) console.warn(`disk_full_test skipped: ${problem}`);

const KiB = 1024;

Deno.test({
  name: "disk full - 507 STORAGE_FULL, tail dropped, still serving, resumes to the right bytes",
  ignore: problem !== null,
  fn: () =>
    scoped(async (scope) => {
      const dataDir = await mountTmpfs(scope, "2m");
      const server = await startTestServer({ scope, dataDir });
      const { log, stop } = EventLog.ofBus(server.running.bus);
      scope.defer("stop recording", stop);
      const session = await createSession(server.url);
      const data = fileBytes(1536 * KiB);
      const { location, id } = await createUpload(server.url, session, { size: data.length });

      // Leave ~768 KiB: the filler takes everything, then gives some back.
      const filler = `${dataDir}/filler`;
      const filled = await fillDisk(filler);
      await Deno.truncate(filler, filled - 768 * KiB);
      // A first chunk that fits: the truncation must keep it (back to the commit, not to 0).
      const first = 256 * KiB;
      assert.equal((await patch(location, session.token, 0, data.slice(0, first))).status, 204);
      const before = await freeBytes(dataDir);
      assert.ok(before < data.length - first, `free ${before} must be below the rest`);

      const logged: string[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
      let full;
      try {
        full = await patch(location, session.token, first, data.slice(first));
      } finally {
        console.error = original;
      }
      assert.equal(full.status, 507, JSON.stringify(full.error));
      assert.equal(full.error?.code, "STORAGE_FULL");
      assert.equal(logged.filter((l) => /disk is full/.test(l)).length, 1, logged.join("\n"));

      // The part is back at the committed offset: the unsaved tail no longer fills the disk.
      const committed = (await head(location, session.token)).offset;
      assert.notEqual(committed, null);
      assert.ok(committed! >= first && committed! < data.length, `committed ${committed}`);
      const part = `${server.uploadsDir}/.parts/${id}`;
      assert.equal((await Deno.stat(part)).size, committed, "part size = committed offset");
      assert.ok(
        (await freeBytes(dataDir)) >= before - committed! - 64 * KiB,
        "the dropped tail's space is free again",
      );
      assert.equal(log.all.filter((e) => e.name === "upload-completed").length, 0);
      const failed = log.all.find((e) => e.name === "upload-failed");
      assert.ok(failed, "watchers hear of the failure");
      assert.equal((failed.payload as { canRetry: boolean }).canRetry, true);

      // Still serving.
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      await createSession(server.url);

      // Space freed: the client resumes from HEAD's offset and completes.
      await Deno.remove(filler);
      const resumed = await patch(location, session.token, committed!, data.slice(committed!));
      assert.equal(resumed.status, 204, JSON.stringify(resumed.error));
      assert.equal(resumed.offset, data.length);
      const done = log.all.filter((e) => e.name === "upload-completed");
      assert.equal(done.length, 1);
      const path = (done[0]!.payload as { uploadPath: string }).uploadPath;
      const stored = await Deno.readFile(`${server.uploadsDir}/${path}`);
      assert.equal(stored.length, data.length);
      assert.equal(await sha256Hex(stored), await sha256Hex(data));
      assert.equal(await exists(part), false);
      await server.close();
    }),
});

Deno.test("storage error - any other failed write answers 500 STORAGE_ERROR and is logged once", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const session = await createSession(server.url);
    const { location, id } = await createUpload(server.url, session, { size: 1000 });
    // The part vanishes under the server (an operator, a bad disk): our fault, not the client's.
    await Deno.remove(`${server.uploadsDir}/.parts/${id}`);
    const logged: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
    let answer;
    try {
      answer = await patch(location, session.token, 0, fileBytes(1000));
    } finally {
      console.error = original;
    }
    assert.equal(answer.status, 500);
    assert.equal(answer.error?.code, "STORAGE_ERROR");
    assert.equal(logged.filter((l) => l.includes(id)).length, 1, logged.join("\n"));
  }));
