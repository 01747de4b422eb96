/**
 * The balancer's two modes with real nginx: `ip_hash` (the default, what long-polling needs)
 * keeps every request from 127.0.0.1 on one node; `round_robin` (the cluster bench: every
 * client is 127.0.0.1 and none polls) sends requests to every node.
 */
import assert from "node:assert/strict";
import { startBalancer } from "../tools/services/balancer.ts";
import { findNginx } from "../tools/services/binaries.ts";
import { scoped } from "./support/scope.ts";

async function namesSeen(url: string, requests: number): Promise<Set<string>> {
  const names = new Set<string>();
  for (let i = 0; i < requests; i++) names.add(await (await fetch(url)).text());
  return names;
}

Deno.test("balancer: round_robin spreads requests over the nodes, ip_hash keeps 127.0.0.1 on one", () =>
  scoped(async (scope) => {
    const nginx = await findNginx();
    if ("missing" in nginx) throw new Error(nginx.missing);
    const upstreams = ["one", "two"].map((name) => {
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () => new Response(name),
      );
      scope.defer(`stop upstream ${name}`, () => server.shutdown());
      return `127.0.0.1:${server.addr.port}`;
    });
    const seen: Record<string, Set<string>> = {};
    for (const balance of ["ip_hash", "round_robin"] as const) {
      const dir = await Deno.makeTempDir({ prefix: "h5-balancer-" });
      scope.defer("remove the balancer folder", () => Deno.remove(dir, { recursive: true }));
      const balancer = await startBalancer(scope, { path: nginx.path, dir, upstreams, balance });
      seen[balance] = await namesSeen(balancer.url, 6);
    }
    assert.equal(seen.ip_hash!.size, 1, `ip_hash answered from ${[...seen.ip_hash!]}`);
    assert.deepEqual([...seen.round_robin!].sort(), ["one", "two"]);
  }));
