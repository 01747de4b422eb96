/**
 * tus-js-client through nginx in front of three real nodes (issue #9, test f): parallel
 * uploads (four partial uploads and a final concatenation) in 8 MiB chunks, the requests
 * spread round-robin over the nodes (asserted through each answer's X-H5-Node), and the
 * stored object, read back from the bucket and downloaded through nginx, has the source's
 * sha256. On the base (c0e8c30) each node ran embedded: a PATCH reaching another node than
 * its POST found no upload.
 */
import assert from "node:assert/strict";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";
import { startCluster } from "./support/cluster.ts";
import { within } from "./support/deadline.ts";
import { bearer, createSession, TUS } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { connectWatcher } from "./support/socket.ts";
import { asBuffer, startTus } from "./support/tus.ts";

const MiB = 2 ** 20;

Deno.test("cluster balancer: tus-js-client, parallelUploads 4 and 8 MiB chunks through nginx", () =>
  scoped(async (scope) => {
    const cluster = await startCluster(scope, { nodes: 3, balancer: "round-robin" });
    const url = cluster.balancer!.url;
    const session = await createSession(url);
    // WebSocket only: the socket stays on the node that took the upgrade, no stickiness needed.
    const watcher = await connectWatcher(url, { ...session, scope });
    const source = fileBytes(48 * MiB);
    const nodes = new Map<string, number>();
    const run = startTus(asBuffer(source), {
      endpoint: `${url}/api/uploads`,
      headers: bearer(session.token),
      metadata: {
        filename: "parallel.jpg",
        filetype: "image/jpeg",
        sessionId: session.sessionId,
        category: "personal",
      },
      parallelUploads: 4,
      chunkSize: 8 * MiB,
      onAfterResponse: (_req, res) => {
        const node = res.getHeader("X-H5-Node") ?? "(none)";
        nodes.set(node, (nodes.get(node) ?? 0) + 1);
      },
    });
    const uploadUrl = await within(run.done, "the parallel upload through nginx", 60_000);
    assert.ok(
      run.responses.every((r) => r.status < 300),
      `every answer succeeded: ${JSON.stringify(run.responses)}\n${cluster.output()}`,
    );
    const posts = run.responses.filter((r) => r.method === "POST");
    assert.equal(posts.length, 5, "four partial uploads and one final");
    assert.equal(nodes.get("(none)"), undefined, "every answer names its node");
    assert.ok(nodes.size > 1, `the requests reached several nodes: ${JSON.stringify([...nodes])}`);
    assert.ok(new URL(uploadUrl).origin === url, "Location names the balancer (H5_PUBLIC_URL)");

    const id = decodeURIComponent(new URL(uploadUrl).pathname.split("/").pop()!);
    const done = await watcher.events.waitFor("upload-completed", (e) => e.fileId === id);
    const want = await sha256Hex(source);
    assert.equal(await cluster.objectSha256(done.uploadPath), want, done.uploadPath);
    const got = await fetch(uploadUrl, { headers: { ...TUS, ...bearer(session.token) } });
    assert.equal(got.status, 200);
    assert.equal(await sha256Hex(await got.arrayBuffer()), want, "the download through nginx");
    await watcher.events.waitFor("session-completed");
  }));
