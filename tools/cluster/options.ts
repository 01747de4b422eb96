/** What `deno task cluster` reads from the environment, and the secret its nodes share. */
import { resolve } from "node:path";

export const REPO = new URL("../../", import.meta.url).pathname;

export interface ClusterOptions {
  /** nginx's port: the public URL is http://127.0.0.1:<port>. */
  port: number;
  /** Where redis, s3rver and the nodes keep their data, and the logs (kept across runs). */
  dir: string;
  nodes: number;
}

/** Reads H5_CLUSTER_PORT and H5_CLUSTER_DIR; throws a one-line Error naming the variable. */
export function clusterOptions(env: Record<string, string | undefined>): ClusterOptions {
  const portText = env.H5_CLUSTER_PORT?.trim() || "8080";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`Invalid H5_CLUSTER_PORT="${portText}": expected a port from 1 to 65535`);
  }
  const dir = resolve(REPO, env.H5_CLUSTER_DIR?.trim() || "data/cluster");
  if (dir.includes(",")) {
    // deno task serve's launcher cannot grant write access to a path with a comma.
    throw new Error(`Invalid H5_CLUSTER_DIR="${dir}": expected a folder path without a comma`);
  }
  return { port, dir, nodes: 3 };
}

/**
 * Every node must accept every token (H5_SECRET is required with H5_REDIS_URL): one secret,
 * made once and kept in the cluster folder so tokens survive a restart, like a single
 * node's generated secret does.
 */
export async function sharedSecret(dir: string): Promise<string> {
  const path = `${dir}/secret`;
  try {
    const kept = (await Deno.readTextFile(path)).trim();
    if (kept.length >= 16) return kept;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}
