/** One node of the local cluster: the `deno task serve` entry as a child, with its env. */
import { type Managed, startManaged } from "../services/process.ts";
import { freePort } from "../services/ports.ts";
import type { Scope } from "../services/scope.ts";
import { REPO } from "./options.ts";

export interface NodeEnv {
  redisUrl: string;
  s3Endpoint: string;
  s3Bucket: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  secret: string;
  publicUrl: string;
}

export interface RunningNode extends Managed {
  name: string;
  url: string;
  dataDir: string;
  /** The server process under the launcher (server/launch.ts runs server/main.ts). */
  serverPid: number | null;
}

/** The children of `pid` (every thread's), from /proc: Linux only, null elsewhere. */
export async function childPids(pid: number): Promise<number[] | null> {
  try {
    const pids: number[] = [];
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const text = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/children`);
      pids.push(...text.trim().split(/\s+/).filter(Boolean).map(Number));
    }
    return pids;
  } catch {
    return null;
  }
}

export async function startNode(
  scope: Scope,
  options: {
    name: string;
    dataDir: string;
    log: string;
    serve: string[];
    env: NodeEnv;
    /** More H5_* settings, over the ones above (the cluster bench raises per-address limits). */
    extra?: Record<string, string>;
  },
): Promise<RunningNode> {
  const port = freePort();
  const { env } = options;
  await Deno.mkdir(options.dataDir, { recursive: true });
  const process = await startManaged(scope, options.name, Deno.execPath(), {
    args: options.serve,
    cwd: REPO,
    log: options.log,
    env: {
      NO_COLOR: "1",
      PORT: String(port),
      HOST: "127.0.0.1",
      H5_DATA_DIR: options.dataDir,
      H5_NODE_ID: options.name,
      H5_SECRET: env.secret,
      H5_REDIS_URL: env.redisUrl,
      H5_S3_ENDPOINT: env.s3Endpoint,
      H5_S3_BUCKET: env.s3Bucket,
      H5_S3_ACCESS_KEY_ID: env.s3AccessKeyId,
      H5_S3_SECRET_ACCESS_KEY: env.s3SecretAccessKey,
      // Location and uploadUrl name the balancer, not this node's own port.
      H5_PUBLIC_URL: env.publicUrl,
      // nginx runs on this machine: its X-Forwarded-For names the real client.
      H5_TRUST_PROXY: "127.0.0.1",
      // The pinned origin is 127.0.0.1; a page opened as localhost is the same balancer.
      H5_ALLOWED_ORIGINS: env.publicUrl.replace("127.0.0.1", "localhost"),
      ...options.extra,
    },
    // A node finishes its in-flight requests first (main.ts closes on SIGTERM).
    stopMs: 15_000,
  });
  const match = await process.waitFor(/listening on (http:\/\/\S+)/, "listening");
  const server = await childPids(process.pid);
  return {
    ...process,
    name: options.name,
    url: match[1]!,
    dataDir: options.dataDir,
    serverPid: server?.[0] ?? null,
  };
}
