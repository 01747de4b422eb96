/**
 * A Redis outage under two real nodes: Redis is `kill -9`ed, every request that needs it
 * answers `503 STATE_UNAVAILABLE` with `Retry-After` (socket commands the same code in their
 * ack), the nodes log it once per outage rather than once per request and keep serving; once
 * a redis-server is back on the same port (empty: no persistence), the nodes serve new
 * sessions again, uploads and cross-node events included. On the base (43e4545) the outage
 * answered `500 INTERNAL_ERROR`, each request logged as our fault.
 */
import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import { bearer, createSession, createUpload, head, patch } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { command, connectWatcher } from "./support/socket.ts";
import { fileBytes } from "../server/testing/harness.ts";

const LOST = /redis command connection lost/;
const BACK = /redis command connection is back/;

Deno.test("cluster outage: Redis gone answers 503 STATE_UNAVAILABLE, logged once; back, the nodes serve again", () =>
  scoped(async (scope) => {
    const cluster = await startCluster(scope, { nodes: 2, files: "shared-disk" });
    const [a, b] = cluster.nodes;
    assert.ok(a && b);
    const session = await createSession(a.url);
    const up = await createUpload(a.url, session, { size: 1024 });
    const watcher = await connectWatcher(b.url, { ...session, scope });

    const marks = [a.output().length, b.output().length];
    cluster.redis.kill();
    await Promise.all([
      a.waitFor(LOST, "node A to see Redis go", marks[0]),
      b.waitFor(LOST, "node B to see Redis go", marks[1]),
    ]);

    const onB = new URL(new URL(up.location).pathname, b.url).href;
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${a.url}/api/sessions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ category: "personal", clientType: "web" }),
      });
      const body = await res.json();
      answers.push({
        status: res.status,
        code: body.error?.code,
        retry: res.headers.get("Retry-After"),
      });
      const probe = await head(onB, session.token);
      answers.push({
        status: probe.status,
        code: "(HEAD)",
        retry: probe.headers.get("Retry-After"),
      });
    }
    for (const answer of answers) {
      assert.equal(answer.status, 503, `${JSON.stringify(answers)}\n${cluster.output()}`);
      assert.equal(answer.retry, "2");
      if (answer.code !== "(HEAD)") assert.equal(answer.code, "STATE_UNAVAILABLE");
    }

    const ack = await command(watcher.socket, "upload-pause", {
      sessionId: session.sessionId,
      fileId: up.id,
    });
    assert.equal(ack.ok, false);
    assert.equal(!ack.ok && ack.error.code, "STATE_UNAVAILABLE");

    for (const [i, node] of [a, b].entries()) {
      const during = node.output().slice(marks[i]);
      assert.doesNotMatch(during, /Request failed|INTERNAL_ERROR|realtime: ".*" failed/, during);
      const lines = during.split("\n").filter((l) => l.includes("answering 503"));
      assert.ok(lines.length <= 1, `one line per outage on ${node.name}:\n${during}`);
    }

    // Redis back on the same port, empty: the connections come back by themselves.
    const back = [a.output().length, b.output().length];
    await cluster.redis.restart();
    await Promise.all([
      a.waitFor(BACK, "node A's Redis connection to come back", back[0]),
      b.waitFor(BACK, "node B's Redis connection to come back", back[1]),
    ]);
    const fresh = await createSession(a.url);
    const data = fileBytes(4096);
    const again = await createUpload(b.url, fresh, { size: data.length });
    const heard = await connectWatcher(a.url, { ...fresh, scope });
    const done = heard.events.waitFor("upload-completed", (e) => e.fileId === again.id);
    const written = await patch(again.location, fresh.token, 0, data);
    assert.equal(written.status, 204, `${JSON.stringify(written.error)}\n${cluster.output()}`);
    await done;
  }));

Deno.test("cluster outage: an S3 endpoint gone answers 503 STORAGE_UNAVAILABLE, not 500", () =>
  scoped(async (scope) => {
    const cluster = await startCluster(scope, { nodes: 1 });
    const [a] = cluster.nodes;
    assert.ok(a);
    const session = await createSession(a.url);
    const data = fileBytes(4096);
    const done = await createUpload(a.url, session, { size: data.length });
    assert.equal((await patch(done.location, session.token, 0, data)).status, 204);
    const open = await createUpload(a.url, session, { size: data.length });

    const mark = a.output().length;
    cluster.s3.kill();
    const download = await fetch(done.location, { headers: bearer(session.token) });
    const body = await download.json();
    assert.equal(download.status, 503, `${JSON.stringify(body)}\n${cluster.output()}`);
    assert.equal(body.error.code, "STORAGE_UNAVAILABLE");
    assert.equal(download.headers.get("Retry-After"), "2");
    const written = await patch(open.location, session.token, 0, data);
    assert.equal(written.status, 503, `${JSON.stringify(written.error)}\n${cluster.output()}`);
    assert.equal(written.error?.code, "STORAGE_UNAVAILABLE");
    const during = a.output().slice(mark);
    assert.doesNotMatch(during, /Request failed/, during);
  }));
