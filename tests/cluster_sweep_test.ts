/**
 * Session expiry on three nodes that all sweep (issue #9, test d): an expired session
 * produces exactly one `session-error`, whichever node's sweep gets there first, as heard by
 * a watcher on each node (the rooms span the nodes, so a second sweep's event would reach
 * every watcher). On the base (c0e8c30) each node ran embedded and only knew its own
 * sessions; with shared state but a sweep per node, each node published its own event.
 */
import assert from "node:assert/strict";
import { fileBytes } from "../server/testing/harness.ts";
import { startCluster, type TestCluster } from "./support/cluster.ts";
import { createSession, createUpload, patch } from "./support/http.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { connectWatcher, type Watcher } from "./support/socket.ts";

/** A session made on the first node, with one unfinished upload, watched from every node. */
async function expiring(scope: Scope, cluster: TestCluster) {
  const [first] = cluster.nodes;
  const session = await createSession(first!.url);
  const data = fileBytes(64 * 1024);
  const up = await createUpload(first!.url, session, { size: 2 * data.length });
  const half = await patch(up.location, session.token, 0, data);
  assert.equal(half.status, 204, JSON.stringify(half.error));
  const watchers: Watcher[] = [];
  for (const node of cluster.nodes) {
    watchers.push(await connectWatcher(node.url, { ...session, scope }));
  }
  return { session, watchers };
}

Deno.test({
  name: "cluster sweep: three nodes sweeping publish one session-error per expired session",
  fn: () =>
    scoped(async (scope) => {
      // Every node sweeps every 250 ms (a tenth of the timeout, at least 250 ms; main.ts).
      const cluster = await startCluster(scope, {
        nodes: 3,
        env: { H5_SESSION_TIMEOUT_MS: "1000" },
      });
      const first = await expiring(scope, cluster);
      for (const w of first.watchers) await w.events.waitFor("session-error");
      // A second session, made once the first expired, expires a timeout (four sweeps of
      // every node) later: by the time its event is heard, any second event of the first
      // session would have been heard too.
      const second = await expiring(scope, cluster);
      for (const w of second.watchers) await w.events.waitFor("session-error");

      for (const { session, watchers } of [first, second]) {
        for (const [i, w] of watchers.entries()) {
          const errors = w.events.named("session-error");
          assert.equal(
            errors.length,
            1,
            `${cluster.nodes[i]!.name}'s watcher: ${JSON.stringify(errors)}\n${cluster.output()}`,
          );
          assert.equal(errors[0]!.sessionId, session.sessionId);
          assert.equal(errors[0]!.error.code, "SESSION_TIMEOUT");
        }
      }
    }),
});
