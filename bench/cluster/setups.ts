/**
 * The setups `deno task bench:cluster` compares, each started fresh and stopped after its
 * workloads: the embedded single node that clients reach directly (the baseline), and 1, 2
 * or 3 nodes on a shared redis-server and s3rver behind nginx. Every process is started by
 * the same code `deno task cluster` uses (tools/services, tools/cluster/node.ts); the nodes
 * run `deno run -A server/main.ts`, as the upload bench runs the server, so the pid measured
 * is the server's own.
 */
import { startNode } from "../../tools/cluster/node.ts";
import { startBalancer } from "../../tools/services/balancer.ts";
import { findNginx, findRedisServer } from "../../tools/services/binaries.ts";
import { freePort } from "../../tools/services/ports.ts";
import { type Managed, startManaged } from "../../tools/services/process.ts";
import { startRedisServer } from "../../tools/services/redis.ts";
import { S3RVER_CREDENTIALS, startS3rverProcess } from "../../tools/services/s3rver.ts";
import { Scope } from "../../tools/services/scope.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const SERVE = ["run", "-A", `${REPO}server/main.ts`];
const BUCKET = "h5-bench";

/**
 * Every setup runs with these: every client of the bench is on this machine, so the limits
 * per address (sessions a minute, sockets, connections) would measure the limiter; the
 * upload bench raises the same ones. The realtime bench's files are octet streams.
 */
export const BENCH_ENV: Record<string, string> = {
  H5_SCENIC_ALLOWED_TYPES: "*/*",
  H5_SCENIC_MAX_FILES: "1000",
  H5_MAX_CONNECTIONS_PER_IP: "100000",
  H5_MAX_SOCKETS_PER_IP: "100000",
  H5_SESSION_RATE: "100000",
  H5_SOCKET_RATE: "100000",
};

export interface Process {
  name: string;
  pid: number;
}

export interface Setup {
  /** "embedded", "1 node", "2 nodes", ... */
  name: string;
  /** 0: the embedded baseline (no proxy, no Redis, no S3). */
  nodes: number;
  /** Where the clients talk: the node itself, or nginx. */
  url: string;
  /** The server processes (one per node). */
  servers: (Process & { port: number; output(): string })[];
  /** redis-server, s3rver, nginx. */
  services: Process[];
  /**
   * What the setup has promised when it answers a PATCH; read after the workloads, since a
   * node says only after listening whether it runs its configured engines.
   */
  promise(): string;
  /** Stops everything the setup started and removes its folder. */
  close(): Promise<void>;
}

export function setupName(nodes: number): string {
  return nodes === 0 ? "embedded" : `${nodes} node${nodes > 1 ? "s" : ""}`;
}

const EMBEDDED_PROMISE = "every byte of the PATCH fdatasynced to the local disk, then the " +
  "offset committed to SQLite (WAL, synchronous=NORMAL: survives kill -9; an OS crash may " +
  "move an offset back over synced bytes, never ahead) before the 204";

function clusterPromise(appendfsync: string): string {
  return "the bytes in S3 part/tail objects of s3rver (files on the local disk, written " +
    "without fsync: s3rver's own durability is the page cache) and the offset in Redis " +
    `(appendonly yes, appendfsync ${appendfsync}: up to 1 s of writes lost on a power cut)`;
}

/** A node given H5_REDIS_URL/H5_S3_* that cannot run them yet says so and runs embedded. */
function promiseOf(nodes: Managed[], cluster: string): () => string {
  return () =>
    nodes.some((n) => /not wired yet/.test(n.output()))
      ? `NOT the cluster: the nodes said the Redis/S3 engines are not wired yet and ran ` +
        `embedded, each on its own SQLite and disk: ${EMBEDDED_PROMISE}`
      : cluster;
}

async function fromScope<T>(scope: Scope, dir: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    await scope.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

function closer(scope: Scope, dir: string): () => Promise<void> {
  return async () => {
    const failures = await scope.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (failures.length) {
      throw new Error(failures.map((f) => `${f.what}: ${String(f.error)}`).join("; "));
    }
  };
}

function server(name: string, managed: Managed, url: string) {
  return { name, pid: managed.pid, port: Number(new URL(url).port), output: managed.output };
}

/** The embedded single node, reached directly: today's default, the baseline. */
async function startEmbedded(root: string): Promise<Setup> {
  const scope = new Scope();
  const dir = await Deno.makeTempDir({ dir: root, prefix: "embedded-" });
  return await fromScope(scope, dir, async () => {
    const port = freePort();
    const node = await startManaged(scope, "embedded", Deno.execPath(), {
      args: SERVE,
      cwd: REPO,
      env: {
        NO_COLOR: "1",
        PORT: String(port),
        HOST: "127.0.0.1",
        H5_DATA_DIR: `${dir}/data`,
        ...BENCH_ENV,
      },
      log: `${dir}/embedded.log`,
      stopMs: 15_000,
    });
    const url = (await node.waitFor(/listening on (http:\/\/\S+)/, "listening"))[1]!;
    return {
      name: setupName(0),
      nodes: 0,
      url,
      servers: [server("embedded", node, url)],
      services: [],
      promise: () => EMBEDDED_PROMISE,
      close: closer(scope, dir),
    };
  });
}

/** Redis's appendfsync as the running server says it (the bench states what it measured). */
async function appendFsync(url: string): Promise<string> {
  const { createClient } = await import("redis");
  const client = createClient({ url });
  await client.connect();
  try {
    const reply = await client.configGet("appendfsync");
    return String(reply.appendfsync ?? "unknown");
  } finally {
    await client.close();
  }
}

/** `nodes` nodes on one redis-server and one s3rver, behind nginx (round robin). */
async function startCluster(root: string, nodes: number): Promise<Setup> {
  const redisPath = await findRedisServer();
  if ("missing" in redisPath) throw new Error(redisPath.missing);
  const nginxPath = await findNginx();
  if ("missing" in nginxPath) throw new Error(nginxPath.missing);
  const scope = new Scope();
  const dir = await Deno.makeTempDir({ dir: root, prefix: `cluster-${nodes}-` });
  return await fromScope(scope, dir, async () => {
    for (const sub of ["redis", "s3", "nginx"]) await Deno.mkdir(`${dir}/${sub}`);
    // Persistent, as `deno task cluster` runs it: the state a node answers from must survive.
    const redis = await startRedisServer(scope, {
      path: redisPath.path,
      dir: `${dir}/redis`,
      persist: true,
      log: `${dir}/redis.log`,
    });
    const s3 = await startS3rverProcess(scope, { dir: `${dir}/s3`, log: `${dir}/s3rver.log` });
    const port = freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const secret = crypto.randomUUID();
    const running = await Promise.all(
      Array.from({ length: nodes }, (_, i) =>
        startNode(scope, {
          name: `node-${i + 1}`,
          dataDir: `${dir}/node-${i + 1}`,
          log: `${dir}/node-${i + 1}.log`,
          serve: SERVE,
          env: {
            redisUrl: redis.url,
            s3Endpoint: s3.url,
            s3Bucket: BUCKET,
            s3AccessKeyId: S3RVER_CREDENTIALS.accessKeyId,
            s3SecretAccessKey: S3RVER_CREDENTIALS.secretAccessKey,
            secret,
            publicUrl,
          },
          extra: BENCH_ENV,
        })),
    );
    const nginx = await startBalancer(scope, {
      path: nginxPath.path,
      dir: `${dir}/nginx`,
      upstreams: running.map((n) => new URL(n.url).host),
      port,
      // Every client here is 127.0.0.1 and none polls (WebSocket-only watchers, tus).
      balance: "round-robin",
    });
    return {
      name: setupName(nodes),
      nodes,
      url: nginx.url,
      servers: running.map((n) => server(n.name, n, n.url)),
      services: [
        { name: "redis-server", pid: redis.pid },
        { name: "s3rver", pid: s3.pid },
        { name: "nginx", pid: nginx.pid },
      ],
      promise: promiseOf(running, clusterPromise(await appendFsync(redis.url))),
      close: closer(scope, dir),
    };
  });
}

export function startSetup(root: string, nodes: number): Promise<Setup> {
  return nodes === 0 ? startEmbedded(root) : startCluster(root, nodes);
}

/** What the nodes said about their engines at start ("not wired yet, ... runs embedded"). */
export function enginesSaid(setup: Setup): string[] {
  const lines = setup.servers.flatMap((s) =>
    s.output().split("\n").filter((l) => /listening on|not wired|embedded/.test(l))
      .map((l) => `${s.name}: ${l.trim()}`)
  );
  return [...new Set(lines)];
}
