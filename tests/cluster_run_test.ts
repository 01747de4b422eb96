/**
 * `deno task cluster` end to end: it starts redis-server, s3rver, three nodes and nginx,
 * serves the demo page and Socket.IO polling through nginx, stores an upload through nginx
 * in the bucket (read back by sha256; on c0e8c30 the nodes ignored S3 and wrote to their own
 * disks), and on SIGINT stops every
 * process it started (their pids are on its part lines), removes its temp folder, keeps
 * the data folder, and exits 0.
 */
import assert from "node:assert/strict";
import { startManaged } from "../tools/services/process.ts";
import { taskArgs } from "./support/child.ts";
import { within } from "./support/deadline.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { freePort } from "./support/server.ts";
import { createUpload, getSnapshot, patch } from "./support/http.ts";
import { objectSha256 } from "./support/s3_objects.ts";
import { fileBytes, sha256Hex } from "../server/testing/harness.ts";

const REPO = new URL("../", import.meta.url).pathname;

/** Whether `pid` is a live process (a zombie waiting for its parent counts as gone). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs `deno task cluster` on a free port over a temp folder until it says it is ready. */
async function runCluster(scope: Scope) {
  const dir = await Deno.makeTempDir({ prefix: "h5-cluster-run-" });
  scope.defer("remove the cluster folder", () => Deno.remove(dir, { recursive: true }));
  const port = freePort();
  const cluster = await startManaged(scope, "deno task cluster", Deno.execPath(), {
    args: await taskArgs("cluster"),
    cwd: REPO,
    env: { H5_CLUSTER_PORT: String(port), H5_CLUSTER_DIR: dir, NO_COLOR: "1" },
    stopMs: 30_000,
  });
  // Three nodes and s3rver starting at once on a shared 2-core machine: a generous bound.
  const ready = await cluster.waitFor(/cluster ready: (http:\/\/\S+)/, "ready", 120_000);
  const text = cluster.output();
  for (const part of ["redis-server", "s3rver", "node-1", "node-2", "node-3", "nginx"]) {
    assert.match(text, new RegExp(`^${part} .* pid \\d+`, "m"), `no line for ${part}:\n${text}`);
  }
  const pids = [...text.matchAll(/ pid (\d+)(?:\/(\d+))?/g)]
    .flatMap((m) => [m[1], m[2]]).filter((p) => p !== undefined).map(Number);
  assert.equal(pids.length, 3 + 3 * 2, `every part and node server has a pid:\n${text}`);
  const runtime = /config (\S+)\/nginx\.conf/.exec(text)?.[1];
  assert.ok(runtime && await exists(runtime), text);
  /** The pid of a node's server process (under its launcher). */
  const serverPid = (node: string) =>
    Number(new RegExp(`^${node} .* pid \\d+/(\\d+)`, "m").exec(text)?.[1]);
  return { cluster, url: ready[1]!, port, dir, pids, runtime, serverPid };
}

async function assertAllGone(pids: number[], runtime: string, output: () => string) {
  for (const pid of pids) {
    assert.equal(await alive(pid), false, `pid ${pid} still runs:\n${output()}`);
  }
  assert.equal(await exists(runtime), false, "the temp folder is removed");
}

Deno.test("cluster run: deno task cluster serves and uploads to the bucket through nginx; Ctrl-C stops everything", () =>
  scoped(async (scope) => {
    const { cluster, url, port, dir, pids, runtime } = await runCluster(scope);
    assert.equal(url, `http://127.0.0.1:${port}`);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /h5-uploader/);
    const polling = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(polling.status, 200);
    assert.match(await polling.text(), /^0\{"sid":/);
    const session = await fetch(`${url}/api/sessions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ category: "personal", clientType: "web" }),
    });
    assert.equal(session.status, 201);
    const created = await session.json();
    assert.equal(created.uploadUrl, `${url}/api/uploads`, "H5_PUBLIC_URL");

    // An upload through nginx lands in the bucket (the nodes run on Redis and S3 now).
    const source = fileBytes(6 * 2 ** 20);
    const up = await createUpload(url, created, { size: source.length });
    const done = await patch(up.location, created.token, 0, source);
    assert.equal(done.status, 204, `${JSON.stringify(done.error)}\n${cluster.output()}`);
    assert.match(done.headers.get("X-H5-Node") ?? "", /^node-[123]$/, "a node answered");
    const { files } = await getSnapshot(url, created);
    const uploadPath = files?.[0]?.uploadPath;
    assert.ok(uploadPath, JSON.stringify(files));
    const s3 = /^s3rver\s+(http:\/\/\S+)/m.exec(cluster.output())?.[1];
    assert.ok(s3, cluster.output());
    assert.equal(
      await objectSha256(s3, "h5-uploads", uploadPath),
      await sha256Hex(source),
      `the object at ${uploadPath} in the bucket`,
    );

    cluster.kill("SIGINT");
    const status = await within(cluster.status, "the cluster to stop on SIGINT", 60_000);
    assert.equal(status.code, 0, cluster.output());
    assert.match(cluster.output(), /cluster stopped/);
    await assertAllGone(pids, runtime, cluster.output);
    for (const kept of ["secret", "redis", "s3", "node-1", "logs/node-1.log"]) {
      assert.ok(await exists(`${dir}/${kept}`), `${kept} is kept for the next run`);
    }
  }));

Deno.test("cluster run: a part that dies stops the whole cluster with code 1", () =>
  scoped(async (scope) => {
    const { cluster, pids, runtime, serverPid } = await runCluster(scope);
    Deno.kill(serverPid("node-2"), "SIGKILL");
    const status = await within(cluster.status, "the cluster to stop after node-2 died", 60_000);
    assert.equal(status.code, 1, cluster.output());
    assert.match(cluster.output(), /^node-2 exited/m);
    await assertAllGone(pids, runtime, cluster.output);
  }));
