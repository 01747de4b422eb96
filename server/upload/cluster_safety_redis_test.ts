/**
 * The cases of cluster_safety_test.ts on the clustered engines: RedisStateStore, RedisLocker
 * and RedisStopChannel on one real redis-server (tests/support/services.ts). A machine
 * without redis-server fails here with the reason (CI installs it).
 */
import { RedisStopChannel } from "../cluster/redis_stop_channel.ts";
import type { Locker } from "../lock/locker.ts";
import { RedisLocker } from "../lock/redis_locker.ts";
import { RedisStateStore } from "../state/redis_store.ts";
import { type Scope, scoped } from "../../tests/support/scope.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { type RedisClient, redisClients } from "../../tests/support/redis_clients.ts";
import { type NodeEngines, type Nodes, startNodes } from "../testing/nodes.ts";
import type { StopReason } from "./in_flight.ts";
import {
  cancelOnOtherNode,
  checkpointKeepsPause,
  expiryOnOtherNode,
  lapsedLeaseStops,
  NODE_ENV,
  oneSweeper,
  pauseOnOtherNode,
  recoverLeavesUploadBetweenPatches,
  recoverSkipsLiveWriter,
} from "./cluster_safety_cases.ts";

const LEASE_MS = 300;

interface RedisNode {
  engines: NodeEngines;
  /** The node's lock connections die (its state connection lives on). */
  crash(): void;
}

async function redisNode(scope: Scope, url: string, prefix: string): Promise<RedisNode> {
  const state = await redisClients(scope, url);
  const lock = await redisClients(scope, url);
  const locker = await RedisLocker.start({ ...lock, prefix, leaseMs: LEASE_MS, pollMs: 50 });
  const clients: RedisClient[] = [lock.client, lock.subscriber];
  scope.defer("close a locker", () => clients.every((c) => c.isOpen) ? locker.close() : undefined);
  const stopChannel = await RedisStopChannel.start<StopReason>({ ...lock, prefix });
  scope.defer(
    "close a stop channel",
    () => clients.every((c) => c.isOpen) ? stopChannel.close() : undefined,
  );
  return {
    engines: { store: new RedisStateStore(state.client, { prefix }), locker, stopChannel },
    crash: () => {
      for (const client of clients) client.destroy();
    },
  };
}

/** `count` nodes on one redis-server; runs `test` with them and each node's crash hook. */
function onRedis(
  count: number,
  test: (n: Nodes, crashes: RedisNode[], more: () => Promise<RedisNode>) => Promise<void>,
) {
  return scoped(async (scope) => {
    const found = await findRedis();
    if ("missing" in found) throw new Error(found.missing);
    const redis = await startRedis(scope, found.redis);
    const prefix = `h5-${crypto.randomUUID()}:`;
    const made: RedisNode[] = [];
    const more = async () => {
      const node = await redisNode(scope, redis.url, prefix);
      made.push(node);
      return node;
    };
    const n = await startNodes(count, {
      env: NODE_ENV,
      engines: async () => (await more()).engines,
    });
    scope.defer("stop the nodes", () => n[Symbol.asyncDispose]());
    await test(n, [...made], more);
  });
}

Deno.test("redis - a pause on node B ends node A's PATCH with 423 UPLOAD_PAUSED", async () => {
  await onRedis(2, (n) => pauseOnOtherNode(n));
});

Deno.test("redis - A's checkpoint does not overwrite a pause another node wrote", async () => {
  await onRedis(2, (n) => checkpointKeepsPause(n));
});

Deno.test("redis - a writer whose lease lapsed stops and writes nothing more", async () => {
  await onRedis(2, (n, nodes) => lapsedLeaseStops(n, () => nodes[0]!.crash()));
});

Deno.test("redis - three nodes sweeping one expired session publish one session-error", async () => {
  await onRedis(3, (n) => oneSweeper(n));
});

Deno.test("redis - recover() on node B leaves node A's upload alone, recovers a dead holder's", async () => {
  await onRedis(2, async (n, _nodes, more) => {
    const dead = await more();
    const locker: Locker = dead.engines.locker;
    await recoverSkipsLiveWriter(n, { locker, crash: () => dead.crash() });
  });
});

Deno.test("redis - a cancel on node B ends node A's PATCH with UPLOAD_CANCELLED", async () => {
  await onRedis(2, (n) => cancelOnOtherNode(n));
});

Deno.test("redis - a sweep on node B that expires the session ends A's PATCH with 410", async () => {
  await onRedis(2, (n) => expiryOnOtherNode(n));
});

Deno.test("redis - recover() on node B leaves an upload between two PATCHes uploading", async () => {
  await onRedis(2, (n) => recoverLeavesUploadBetweenPatches(n));
});
