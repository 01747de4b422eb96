/**
 * `kill -9` of the node in the middle of a PATCH (issue #9): two real nodes on one Redis and
 * one s3rver. Node A dies with part of a 24 MiB body stored as S3 parts; HEAD through node B
 * answers the durable offset, the upload resumes through B once A's lock lease has lapsed,
 * the download through B has the source's sha256, and the bucket holds the object at its
 * uploadPath (read back by sha256). On the base (c0e8c30) each node ran embedded: B did not
 * know the upload at all.
 */
import assert from "node:assert/strict";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";
import { startCluster } from "./support/cluster.ts";
import { within } from "./support/deadline.ts";
import {
  bearer,
  createSession,
  createUpload,
  head,
  patch,
  streamPatch,
  TUS,
} from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { connectWatcher } from "./support/socket.ts";

const MiB = 2 ** 20;
/** S3 multipart's part size: what S3 storage makes durable at a time. */
const PART = 5 * MiB;

Deno.test("cluster kill: kill -9 of node A mid-PATCH resumes through node B from a durable offset", () =>
  scoped(async (scope) => {
    const cluster = await startCluster(scope, {
      nodes: 2,
      // A's lock lapses 2 s after A died (renewed every lease/3 while A lived), and B's PATCH
      // waits for that rather than answering 423 UPLOAD_LOCKED.
      env: { H5_LOCK_LEASE_MS: "2000", H5_LOCK_TIMEOUT_MS: "30000" },
    });
    const [a, b] = cluster.nodes;
    assert.ok(a && b);
    const session = await createSession(a.url);
    const onB = await connectWatcher(b.url, { ...session, scope });
    const source = fileBytes(24 * MiB);
    const up = await createUpload(a.url, session, { size: source.length, filename: "big.jpg" });
    const viaB = new URL(new URL(up.location).pathname, b.url).href;

    // A slow client: two parts and a bit go to A, and B hears A commit the first part.
    const request = streamPatch(scope, up.location, session.token, 0);
    request.body.push(source.subarray(0, 2 * PART + MiB));
    await onB.events.waitFor(
      "upload-progress",
      (e) => e.currentFile?.id === up.id && e.currentFile.uploadedBytes >= PART,
      { what: "B to hear A store the first 5 MiB part" },
    );
    a.kill();
    const gone = await within(a.process.child.status, "node A to die on SIGKILL");
    assert.equal(gone.signal, "SIGKILL");
    await within(request.answer.catch(() => null), "A's PATCH to end with its node");

    const durable = await head(viaB, session.token);
    assert.equal(durable.status, 200);
    assert.ok(
      durable.offset !== null && durable.offset > 0 && durable.offset % PART === 0 &&
        durable.offset <= 2 * PART + MiB,
      `HEAD through B: ${durable.offset}\n${cluster.output()}`,
    );

    const rest = await patch(viaB, session.token, durable.offset!, source.slice(durable.offset!));
    assert.equal(rest.status, 204, `${JSON.stringify(rest.error)}\n${cluster.output()}`);
    assert.equal(rest.offset, source.length);

    const completed = await onB.events.waitFor("upload-completed", (e) => e.fileId === up.id);
    const got = await fetch(viaB, { headers: { ...TUS, ...bearer(session.token) } });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("X-H5-Node"), b.name, "the download went through B");
    const want = await sha256Hex(source);
    assert.equal(await sha256Hex(await got.arrayBuffer()), want, "the download through B");
    assert.equal(
      await cluster.objectSha256(completed.uploadPath),
      want,
      `the object at ${completed.uploadPath}`,
    );
  }));
