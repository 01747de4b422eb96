/**
 * The shared engines of the clustered mode, started as real children for a test: a
 * `redis-server` (Debian package; .ci/run installs it when missing) and `s3rver` (npm), each
 * on a free port in its own temp folder, stopped and reaped by the scope. `kill()` is the
 * `kill -9` a test may need. The process handling is tools/services/, which
 * `deno task cluster` uses too.
 */
import { findRedisServer } from "../../tools/services/binaries.ts";
import { startRedisServer } from "../../tools/services/redis.ts";
import { startS3rverProcess } from "../../tools/services/s3rver.ts";
import type { Scope } from "./scope.ts";

export interface Service {
  port: number;
  /** `redis://127.0.0.1:<port>` or `http://127.0.0.1:<port>`. */
  url: string;
  dir: string;
  kill(): void;
}

/** The redis-server binary, or why a Redis test cannot run here. */
export async function findRedis(): Promise<{ redis: string } | { missing: string }> {
  const found = await findRedisServer();
  return "path" in found ? { redis: found.path } : found;
}

export interface RedisService extends Service {
  /**
   * `kill -9`, then a new redis-server on the same port (an outage that ends): without
   * persistence it comes back empty.
   */
  restart(): Promise<void>;
}

/** A throwaway redis-server: no persistence (the tests kill nodes, not Redis). */
export async function startRedis(
  scope: Scope,
  redisPath = "/usr/bin/redis-server",
): Promise<RedisService> {
  const dir = await Deno.makeTempDir({ prefix: "h5-redis-" });
  scope.defer("remove the redis folder", () => Deno.remove(dir, { recursive: true }));
  let redis = await startRedisServer(scope, { path: redisPath, dir });
  const port = redis.port;
  return {
    port,
    url: redis.url,
    dir,
    kill: () => redis.kill(),
    restart: async () => {
      redis.kill();
      await redis.status;
      redis = await startRedisServer(scope, { path: redisPath, dir, port });
    },
  };
}

/** A throwaway s3rver (S3-compatible, for local use and tests only). */
export async function startS3rver(scope: Scope): Promise<Service> {
  const dir = await Deno.makeTempDir({ prefix: "h5-s3rver-" });
  scope.defer("remove the s3rver folder", () => Deno.remove(dir, { recursive: true }));
  const s3 = await startS3rverProcess(scope, { dir });
  return { port: s3.port, url: s3.url, dir, kill: () => s3.kill() };
}
