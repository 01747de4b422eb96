/**
 * The balancer's two modes with real nginx: "sticky" (`ip_hash`, the default, what long-polling needs)
 * keeps every request from 127.0.0.1 on one node; "round-robin" (the cluster bench: every
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

Deno.test("balancer: round-robin spreads requests over the nodes, sticky keeps 127.0.0.1 on one", () =>
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
    for (const balance of ["sticky", "round-robin"] as const) {
      const dir = await Deno.makeTempDir({ prefix: "h5-balancer-" });
      scope.defer("remove the balancer folder", () => Deno.remove(dir, { recursive: true }));
      const balancer = await startBalancer(scope, { path: nginx.path, dir, upstreams, balance });
      seen[balance] = await namesSeen(balancer.url, 6);
    }
    assert.equal(seen.sticky!.size, 1, `sticky answered from ${[...seen.sticky!]}`);
    assert.deepEqual([...seen["round-robin"]!].sort(), ["one", "two"]);
  }));
