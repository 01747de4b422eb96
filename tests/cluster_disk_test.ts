/**
 * Redis without a bucket (issue #9: each engine is chosen on its own): two nodes on one Redis
 * and one shared H5_DATA_DIR, as machines mounting one folder. An upload through node A is
 * heard by a watcher on node B, resumes through B after A is killed, and downloads through B
 * with the source's sha256; no SQLite database is made (the state is Redis's). On the base
 * (c0e8c30) the nodes ran embedded, each with its own SQLite state in the shared folder.
 */
import assert from "node:assert/strict";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";
import { startCluster } from "./support/cluster.ts";
import { within } from "./support/deadline.ts";
import {
  bearer,
  createSession,
  createUpload,
  exists,
  offsetOf,
  patch,
  streamPatch,
  TUS,
} from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { connectWatcher } from "./support/socket.ts";

const MiB = 2 ** 20;

Deno.test("cluster disk: Redis with a shared folder, no bucket: any node serves the upload", () =>
  scoped(async (scope) => {
    const cluster = await startCluster(scope, {
      nodes: 2,
      files: "shared-disk",
      env: { H5_LOCK_LEASE_MS: "1000", H5_LOCK_TIMEOUT_MS: "30000" },
    });
    const [a, b] = cluster.nodes;
    assert.ok(a && b && a.dataDir === b.dataDir);
    assert.match(a.output(), /files in \S+\/uploads, state, locks and rooms in redis/);
    const session = await createSession(a.url);
    const onB = await connectWatcher(b.url, { ...session, scope });
    const source = fileBytes(6 * MiB);
    const up = await createUpload(a.url, session, { size: source.length });
    const viaB = new URL(new URL(up.location).pathname, b.url).href;

    const request = streamPatch(scope, up.location, session.token, 0);
    request.body.push(source.subarray(0, 2 * MiB));
    await onB.events.waitFor(
      "upload-progress",
      (e) => e.currentFile?.id === up.id && e.currentFile.uploadedBytes > 0,
      { what: "B to hear A's first checkpoint" },
    );
    a.kill();
    await within(a.process.child.status, "node A to die on SIGKILL");
    await within(request.answer.catch(() => null), "A's PATCH to end with its node");

    const offset = await offsetOf(viaB, session.token);
    assert.ok(offset > 0 && offset <= 2 * MiB, `HEAD through B: ${offset}`);
    const rest = await patch(viaB, session.token, offset, source.slice(offset));
    assert.equal(rest.status, 204, `${JSON.stringify(rest.error)}\n${cluster.output()}`);
    await onB.events.waitFor("upload-completed", (e) => e.fileId === up.id);
    const got = await fetch(viaB, { headers: { ...TUS, ...bearer(session.token) } });
    assert.equal(got.status, 200);
    assert.equal(await sha256Hex(await got.arrayBuffer()), await sha256Hex(source));
    assert.equal(await exists(`${a.dataDir}/state.db`), false, "no SQLite state beside Redis");
  }));
