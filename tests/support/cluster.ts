/**
 * Several real nodes for multi-node tests: a redis-server and an s3rver (services.ts), N
 * nodes as child processes (child.ts `spawnServer`, so a test can `kill -9` one), and
 * optionally nginx balancing them (tools/services/balancer.ts, the `deno task cluster`
 * configuration). Every port is free, every process and folder is reaped by the scope. A
 * missing redis-server or nginx fails the start with how to install it.
 */
import { findNginx } from "../../tools/services/binaries.ts";
import { type Balance, startBalancer } from "../../tools/services/balancer.ts";
import { S3RVER_CREDENTIALS } from "../../tools/services/s3rver.ts";
import { type ServerProcess, spawnServer } from "./child.ts";
import type { Scope } from "./scope.ts";
import { objectSha256 } from "./s3_objects.ts";
import { freePort } from "./server.ts";
import { findRedis, type RedisService, type Service, startRedis, startS3rver } from "./services.ts";

export interface ClusterNode {
  /** H5_NODE_ID, e.g. "node-a". */
  name: string;
  /** The node's own URL (not through the balancer). */
  url: string;
  dataDir: string;
  process: ServerProcess;
  /** `kill -9`: the node dies mid-whatever it was doing. */
  kill(): void;
  /** Everything it printed so far, for failure messages. */
  output(): string;
  /** Resolves once it printed a match of `pattern` (after `from` characters of its output). */
  waitFor(pattern: RegExp, what: string, from?: number): Promise<RegExpExecArray>;
}

export interface TestCluster {
  redis: RedisService;
  s3: Service;
  bucket: string;
  /** The H5_SECRET every node shares. */
  secret: string;
  nodes: ClusterNode[];
  /** nginx in front of the nodes (its URL is every node's H5_PUBLIC_URL), or null. */
  balancer: { url: string; errorLog: string } | null;
  /** Starts one more node on the same Redis, bucket and secret (e.g. after a kill). */
  addNode(name: string, env?: Record<string, string>): Promise<ClusterNode>;
  /** Every node's output, labelled, for an assertion message. */
  output(): string;
  /** The sha256 (hex) of the object at `key` in the bucket, streamed back; null if absent. */
  objectSha256(key: string): Promise<string | null>;
}

export interface ClusterOptions {
  /** How many nodes (default 2); named node-a, node-b, ... */
  nodes?: number;
  /**
   * Put nginx in front (default false): true or "sticky" is `deno task cluster`'s `ip_hash`
   * (every test client is 127.0.0.1, so one node takes everything); "round-robin" spreads
   * the requests over the nodes.
   */
  balancer?: boolean | Balance;
  /** Extra environment for every node (e.g. short timeouts). */
  env?: Record<string, string>;
  /**
   * Where the files go: "s3" (default, the s3rver's bucket) or "shared-disk" (no bucket:
   * every node gets the same H5_DATA_DIR, as machines mounting one folder would).
   */
  files?: "s3" | "shared-disk";
}

const NAMES = "abcdefghijklmnopqrstuvwxyz";

/**
 * A node on a free port. A port found free can be taken by another process before the node
 * binds it (other tests and helpers start servers on this machine too): such a start stops
 * with "already in use" at once, and is tried again on another port.
 */
async function spawnNode(
  scope: Scope,
  dataDir: string,
  env: Record<string, string>,
): Promise<ServerProcess> {
  for (let attempt = 1;; attempt++) {
    try {
      return await spawnServer(scope, dataDir, freePort(), env);
    } catch (error) {
      if (attempt >= 3 || !/is already in use/.test(String(error))) throw error;
    }
  }
}

export async function startCluster(
  scope: Scope,
  options: ClusterOptions = {},
): Promise<TestCluster> {
  const redisPath = await findRedis();
  if ("missing" in redisPath) throw new Error(`cannot start a cluster: ${redisPath.missing}`);
  const nginx = options.balancer ? await findNginx() : null;
  if (nginx && "missing" in nginx) throw new Error(`cannot start a cluster: ${nginx.missing}`);
  const [redis, s3] = await Promise.all([startRedis(scope, redisPath.redis), startS3rver(scope)]);
  const bucket = "h5-test";
  const secret = crypto.randomUUID();
  const balancerPort = nginx ? freePort() : null;
  const sharedDisk = options.files === "shared-disk";
  let sharedDir: string | null = null;
  if (sharedDisk) {
    const dir = sharedDir = await Deno.makeTempDir({ prefix: "h5-shared-" });
    scope.defer("remove the shared data folder", () => Deno.remove(dir, { recursive: true }));
  }
  const shared: Record<string, string> = {
    H5_REDIS_URL: redis.url,
    ...(sharedDisk ? {} : {
      H5_S3_ENDPOINT: s3.url,
      H5_S3_BUCKET: bucket,
      H5_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      H5_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    }),
    H5_SECRET: secret,
    ...(balancerPort === null ? {} : {
      H5_PUBLIC_URL: `http://127.0.0.1:${balancerPort}`,
      H5_TRUST_PROXY: "127.0.0.1",
    }),
    ...options.env,
  };

  const nodes: ClusterNode[] = [];
  const addNode = async (name: string, env: Record<string, string> = {}) => {
    let dataDir = sharedDir;
    if (dataDir === null) {
      const own = dataDir = await Deno.makeTempDir({ prefix: `h5-${name}-` });
      scope.defer(`remove ${name}'s data folder`, () => Deno.remove(own, { recursive: true }));
    }
    const process = await spawnNode(scope, dataDir, { ...shared, H5_NODE_ID: name, ...env });
    const node: ClusterNode = {
      name,
      url: process.url,
      dataDir,
      process,
      kill: () => {
        try {
          process.child.kill("SIGKILL");
        } catch { /* already gone */ }
      },
      output: process.output,
      waitFor: process.waitFor,
    };
    nodes.push(node);
    return node;
  };
  await Promise.all(
    Array.from({ length: options.nodes ?? 2 }, (_, i) => addNode(`node-${NAMES[i]}`)),
  );
  nodes.sort((a, b) => a.name.localeCompare(b.name));

  let balancer: TestCluster["balancer"] = null;
  if (nginx && balancerPort !== null) {
    const dir = await Deno.makeTempDir({ prefix: "h5-balancer-" });
    scope.defer("remove the balancer folder", () => Deno.remove(dir, { recursive: true }));
    const running = await startBalancer(scope, {
      path: nginx.path,
      dir,
      upstreams: nodes.map((n) => new URL(n.url).host),
      port: balancerPort,
      balance: options.balancer === "round-robin" ? "round-robin" : "sticky",
    });
    balancer = { url: running.url, errorLog: `${dir}/error.log` };
  }
  return {
    redis,
    s3,
    bucket,
    secret,
    nodes,
    balancer,
    addNode,
    output: () => nodes.map((n) => `--- ${n.name} (${n.url})\n${n.output()}`).join("\n"),
    objectSha256: (key) => objectSha256(s3.url, bucket, key),
  };
}
