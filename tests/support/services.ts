/**
 * The shared engines of the clustered mode, started as real children for a test: a
 * `redis-server` (Debian package; .ci/run installs it when missing) and `s3rver` (npm), each
 * on a free port in its own temp folder, stopped and reaped by the scope. `kill()` is the
 * `kill -9` a test may need.
 */
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";
import { freePort } from "./server.ts";

export interface Service {
  port: number;
  /** `redis://127.0.0.1:<port>` or `http://127.0.0.1:<port>`. */
  url: string;
  dir: string;
  kill(): void;
}

const REDIS_PATHS = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];

/** The redis-server binary, or why a Redis test cannot run here. */
export async function findRedis(): Promise<{ redis: string } | { missing: string }> {
  for (const path of REDIS_PATHS) {
    try {
      if ((await Deno.stat(path)).isFile) return { redis: path };
    } catch { /* try the next */ }
  }
  return { missing: "redis-server is not installed (apt-get install -y redis-server)" };
}

/** Reads a child's stdout until a line matches, then keeps draining it so the pipe never fills. */
async function waitForLine(
  stdout: Deno.ChildProcess["stdout"],
  pattern: RegExp,
  what: string,
): Promise<void> {
  const lines = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const ready = (async () => {
    while (true) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`${what} exited before it was ready:\n${seen.slice(-2000)}`);
      seen += value;
      if (pattern.test(seen)) return;
    }
  })();
  await within(ready, `${what} to start`);
  (async () => {
    while (!(await lines.read()).done) { /* drain */ }
  })().catch(() => {});
}

function track(scope: Scope, child: Deno.ChildProcess, what: string): () => void {
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  scope.defer(`stop ${what}`, async () => {
    if (!killed) {
      killed = true;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    await child.status;
  });
  return kill;
}

/** A throwaway redis-server: no persistence (the tests kill nodes, not Redis). */
export async function startRedis(
  scope: Scope,
  redisPath = "/usr/bin/redis-server",
): Promise<Service> {
  const dir = await Deno.makeTempDir({ prefix: "h5-redis-" });
  scope.defer("remove the redis folder", () => Deno.remove(dir, { recursive: true }));
  const port = freePort();
  const child = new Deno.Command(redisPath, {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const kill = track(scope, child, "redis-server");
  await waitForLine(child.stdout, /Ready to accept connections/, "redis-server");
  return { port, url: `redis://127.0.0.1:${port}`, dir, kill };
}

/** A throwaway s3rver (S3-compatible, for local use and tests only). */
export async function startS3rver(scope: Scope): Promise<Service> {
  const dir = await Deno.makeTempDir({ prefix: "h5-s3rver-" });
  scope.defer("remove the s3rver folder", () => Deno.remove(dir, { recursive: true }));
  const port = freePort();
  const main = new URL("./s3rver_main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, dir, String(port)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const kill = track(scope, child, "s3rver");
  await waitForLine(child.stdout, /listening on/, "s3rver");
  return { port, url: `http://127.0.0.1:${port}`, dir, kill };
}
