/**
 * The engines one node runs on, chosen from the Config in one place so that main.ts only
 * composes them. Embedded (the default): SQLite state, local-disk files, in-process locks,
 * rate limits, stop requests and rooms. `config.redis` (H5_REDIS_URL): state, locks, rate
 * limits, stop requests, progress deltas and Socket.IO rooms in Redis (engines_redis.ts).
 * `config.s3` (H5_S3_BUCKET): files in S3-compatible storage. Each is independent: Redis
 * with local disk suits one machine or a folder every node shares; S3 without Redis suits
 * one node.
 */
import type { ServerOptions } from "socket.io";
import type { Config } from "./config.ts";
import { MemoryProgressChannel } from "./cluster/memory_progress_channel.ts";
import type { ProgressChannel } from "./cluster/progress_channel.ts";
import type { StopChannel } from "./cluster/stop_channel.ts";
import { EngineStartError } from "./engine_start_error.ts";
import { maskedRedisUrl, openRedis } from "./engines_redis.ts";
import type { RateLimitStore } from "./http/rate_limit_store.ts";
import type { Locker } from "./lock/locker.ts";
import { MemoryLocker } from "./lock/memory_locker.ts";
import type { StateStore } from "./state/store.ts";
import { SqliteStore } from "./state/sqlite_store.ts";
import { LocalDiskStorage } from "./storage/local_disk.ts";
import { S3Storage } from "./storage/s3/s3_storage.ts";
import type { UploadStorage } from "./storage/storage.ts";
import type { ThrottleGate } from "./realtime/throttle_gate.ts";
import type { StopReason } from "./upload/in_flight.ts";

export { EngineStartError };

export interface Engines {
  store: StateStore;
  storage: UploadStorage;
  locker: Locker;
  /**
   * Socket.IO's adapter factory: undefined is its in-memory adapter (rooms on this node
   * only); Redis: `@socket.io/redis-adapter`, so a watcher on node B hears node A's events.
   */
  realtimeAdapter?: ServerOptions["adapter"];
  /** Shared buckets for sessions, handshakes and file commands; undefined: this node's own. */
  rateLimits?: RateLimitStore;
  /** Stop requests that reach the node holding an upload's PATCH; undefined: in-process. */
  stopChannel?: StopChannel<StopReason>;
  /** The other nodes' progress deltas (a no-op channel when this is the only node). */
  progressChannel: ProgressChannel;
  /** The progress throttle every node shares; undefined: this node throttles alone. */
  throttleGate?: ThrottleGate;
  /** What the node runs on, for its start line. */
  describe: string;
  /** Closes what the engines opened (connections, databases), in reverse order. */
  close(): Promise<void>;
}

export async function openEngines(config: Config): Promise<Engines> {
  // The service passes H5_LOCK_LEASE_MS with every acquire; the lockers default to it too.
  const leaseMs = config.lockLeaseMs;
  const closers: { what: string; close: () => Promise<unknown> | unknown }[] = [];
  const close = async () => {
    for (const { what, close } of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        console.error(`Closing ${what} failed:`, error);
      }
    }
  };
  const parts: string[] = [];
  try {
    let storage: UploadStorage;
    if (config.s3) {
      const s3 = new S3Storage({
        bucket: config.s3.bucket,
        region: config.s3.region,
        accessKeyId: config.s3.accessKeyId,
        secretAccessKey: config.s3.secretAccessKey,
        forcePathStyle: config.s3.forcePathStyle,
        idleTimeoutMs: config.idleTimeoutMs,
        ...(config.s3.endpoint === null ? {} : { endpoint: config.s3.endpoint }),
      });
      closers.push({ what: "the S3 client", close: () => s3.close() });
      try {
        await s3.ensureBucket();
      } catch (error) {
        const where = config.s3.endpoint ?? `AWS S3 (${config.s3.region})`;
        throw new EngineStartError(
          `H5_S3_BUCKET=${config.s3.bucket} cannot be opened at ${where} (${reason(error)})`,
        );
      }
      storage = s3;
      parts.push(`files in S3 bucket ${config.s3.bucket}`);
    } else {
      await Deno.mkdir(`${config.dataDir}/uploads`, { recursive: true });
      storage = new LocalDiskStorage(`${config.dataDir}/uploads`, {
        idleTimeoutMs: config.idleTimeoutMs,
      });
      parts.push(`files in ${config.dataDir}/uploads`);
    }

    if (config.redis) {
      const redis = await openRedis(config.redis, { node: config.nodeId, leaseMs });
      closers.push({ what: "the redis engines", close: () => redis.close() });
      parts.push(`state, locks and rooms in redis ${maskedRedisUrl(config.redis.url)}`);
      return {
        store: redis.store,
        storage,
        locker: redis.locker,
        realtimeAdapter: redis.adapter,
        rateLimits: redis.rateLimits,
        stopChannel: redis.stopChannel,
        progressChannel: redis.progressChannel,
        throttleGate: redis.throttleGate,
        describe: parts.join(", "),
        close,
      };
    }
    await Deno.mkdir(config.dataDir, { recursive: true });
    const store = new SqliteStore(`${config.dataDir}/state.db`);
    closers.push({ what: "the state database", close: () => store.close() });
    const locker = new MemoryLocker({ leaseMs });
    const progressChannel = new MemoryProgressChannel();
    closers.push({ what: "the progress channel", close: () => progressChannel.close() });
    return {
      store,
      storage,
      locker,
      progressChannel,
      describe: config.s3
        ? `state in ${config.dataDir}, ${parts.join(", ")}`
        : `data in ${config.dataDir}`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: string }).code;
  return [
    error.name !== "Error" ? error.name : "",
    status ? `HTTP ${status}` : "",
    code ?? "",
    error.message,
  ].filter(Boolean).join(": ");
}
