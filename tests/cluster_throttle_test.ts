/**
 * The spec's progress throttle (节流策略) holds across nodes: two real nodes on one
 * redis-server, a session of two files uploaded at the same time in many small PATCHes, each
 * file's PATCHes alternating between the nodes (a round-robin balancer's pattern). The spec
 * keys its throttle per file (`${sessionId}_${fileId}`) and sends an update only when 500 ms
 * have passed AND progress moved 1 % since the last one sent; status changes and reaching
 * 100 % pass at once (server/realtime/throttle.ts). So a watcher must never hear two updates
 * of one file, same status and under 100 %, less than 500 ms (minus timer jitter) apart or
 * less than 1 % apart. On the base (df2d04b) each node throttled only what it sent itself,
 * and a file going through both nodes was heard up to twice per window.
 */
import assert from "node:assert/strict";
import type { ProgressUpdateEvent } from "../protocol/events.ts";
import { fileBytes } from "../server/testing/harness.ts";
import { startCluster } from "./support/cluster.ts";
import { createSession, createUpload, patch } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { connectWatcher } from "./support/socket.ts";

const KiB = 1024;
/** 1 % of a file per PATCH: every update is big enough, only the time rule can hold it. */
const PATCHES = 100;
const CHUNK = 16 * KiB;
const SIZE = PATCHES * CHUNK;
/** The spec's 500 ms, less what the two nodes' send paths and the sockets may jitter. */
const MIN_GAP_MS = 450;

Deno.test("cluster throttle: a file going through two nodes is heard at most once per 500 ms", async () => {
  await scoped(async (scope) => {
    const cluster = await startCluster(scope, { nodes: 2, files: "shared-disk" });
    const [a, b] = cluster.nodes;
    assert.ok(a && b, "two nodes");
    const session = await createSession(a.url);
    const watcher = await connectWatcher(a.url, { ...session, scope });
    const heard: { at: number; event: ProgressUpdateEvent }[] = [];
    watcher.socket.on("upload-progress", (event) => heard.push({ at: performance.now(), event }));

    const ups = [
      await createUpload(a.url, session, { size: SIZE, filename: "one.jpg" }),
      await createUpload(b.url, session, { size: SIZE, filename: "two.jpg" }),
    ];
    const source = fileBytes(SIZE);
    const origins = [a.url, b.url];
    // Both files at once, each PATCH through the other node than the one before.
    await Promise.all(ups.map(async (up, n) => {
      const path = new URL(up.location).pathname;
      for (let i = 0; i < PATCHES; i++) {
        const via = origins[(i + n) % 2]!;
        const offset = i * CHUNK;
        const answer = await patch(
          `${via}${path}`,
          session.token,
          offset,
          source.slice(offset, offset + CHUNK),
        );
        assert.equal(answer.status, 204, `PATCH ${i} via ${via}: ${JSON.stringify(answer.error)}`);
      }
    }));
    await watcher.events.waitFor("session-completed");

    const ids = ups.map((up) => up.id);
    for (const id of ids) {
      const mine = heard.filter((h) => h.event.currentFile?.id === id);
      assert.ok(mine.length >= 2, `updates of ${id}: ${mine.length}`);
      for (let i = 1; i < mine.length; i++) {
        const prev = mine[i - 1]!, cur = mine[i]!;
        const p = prev.event.currentFile!, c = cur.event.currentFile!;
        if (c.status !== p.status || (c.progress >= 100 && p.progress < 100)) continue;
        const gap = Math.round(cur.at - prev.at);
        const what = `${id}: ${p.progress} % then ${c.progress} % ${gap} ms later (${c.status})`;
        assert.ok(gap >= MIN_GAP_MS, `two updates inside one 500 ms window: ${what}`);
        assert.ok(Math.abs(c.progress - p.progress) >= 1, `under 1 % apart: ${what}`);
      }
      // The last update of the file is its newest state: all of it.
      const last = mine.at(-1)!.event.currentFile!;
      assert.equal(last.uploadedBytes, SIZE, `${id}'s last update is its newest state`);
      assert.equal(last.progress, 100);
    }
    // What was heard last, before the session completed, counts both files whole.
    const final = heard.at(-1)!.event;
    assert.equal(final.totalProgress, 100, JSON.stringify(final));
  });
});
