/**
 * The multi-node test support itself: real redis-server, s3rver, node children and nginx in
 * front, on free ports. A node killed with SIGKILL is gone and the balancer serves through
 * the others; every process is reaped by the scope.
 */
import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import { within } from "./support/deadline.ts";
import { scoped } from "./support/scope.ts";

async function status(url: string): Promise<number> {
  const res = await fetch(url);
  await res.body?.cancel();
  return res.status;
}

Deno.test("cluster support: two nodes behind nginx; a node killed with -9 leaves the other serving", () =>
  scoped(async (scope) => {
    const cluster = await startCluster(scope, { nodes: 2, balancer: true });
    assert.equal(cluster.nodes.length, 2);
    assert.ok(cluster.balancer, "the balancer was asked for");
    for (const node of cluster.nodes) {
      assert.equal(await status(`${node.url}/`), 200, cluster.output());
      assert.match(
        node.output(),
        new RegExp(`node ${node.name}\\)`),
        "H5_NODE_ID reached the node",
      );
    }
    assert.equal(await status(`${cluster.balancer.url}/`), 200);

    // The balancer sends everything from 127.0.0.1 to one node (ip_hash): kill each in turn
    // and the other answers, since nginx moves on from a refused upstream.
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    a.kill();
    const gone = await within(a.process.child.status, "node-a to die on SIGKILL");
    assert.equal(gone.signal, "SIGKILL");
    assert.equal(await status(`${cluster.balancer.url}/`), 200, cluster.output());
    const c = await cluster.addNode("node-c");
    assert.equal(await status(`${c.url}/`), 200);
    assert.equal(await status(`${b.url}/`), 200);
  }));
