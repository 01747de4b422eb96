/**
 * Rate limits are one budget per client whichever node it reaches (issue #9): with
 * H5_SESSION_RATE=2, two sessions made on node A use the budget up and node B refuses the
 * third with 429. On the base (c0e8c30) every node counted alone: N nodes let N times the
 * limit through.
 */
import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import { createSession } from "./support/http.ts";
import { scoped } from "./support/scope.ts";

Deno.test("cluster limits: the session rate is shared by the nodes", () =>
  scoped(async (scope) => {
    const cluster = await startCluster(scope, { nodes: 2, env: { H5_SESSION_RATE: "2" } });
    const [a, b] = cluster.nodes;
    assert.ok(a && b);
    await createSession(a.url);
    await createSession(a.url);
    const res = await fetch(`${b.url}/api/sessions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ category: "personal", clientType: "web" }),
    });
    const body = await res.json();
    assert.equal(res.status, 429, `${JSON.stringify(body)}\n${cluster.output()}`);
    assert.equal(body.error.code, "RATE_LIMIT_EXCEEDED");
    assert.equal(res.headers.get("X-H5-Node"), b.name);
  }));
