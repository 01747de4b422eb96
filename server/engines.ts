/**
 * The engines one node runs on, chosen from the Config in one place so that main.ts only
 * composes them. Today every node is embedded: SQLite state, local-disk files, in-process
 * locks. The clustered engines (issue #9) plug in here: with `config.redis` a Redis state
 * store, locker, rate-limit store, stop-request channel and Socket.IO adapter; with
 * `config.s3` an S3 storage. Until they are wired, a node given H5_REDIS_URL or H5_S3_BUCKET
 * still runs embedded and `pending` says so at start.
 */
import type { ServerOptions } from "socket.io";
import type { Config } from "./config.ts";
import type { Locker } from "./lock/locker.ts";
import { MemoryLocker } from "./lock/memory_locker.ts";
import type { StateStore } from "./state/store.ts";
import { SqliteStore } from "./state/sqlite_store.ts";
import { LocalDiskStorage } from "./storage/local_disk.ts";
import type { UploadStorage } from "./storage/storage.ts";

export interface Engines {
  store: StateStore;
  storage: UploadStorage;
  locker: Locker;
  /**
   * Socket.IO's adapter factory: undefined is its in-memory adapter (rooms on this node
   * only); Redis: `@socket.io/redis-adapter`, so a watcher on node B hears node A's events.
   */
  realtimeAdapter?: ServerOptions["adapter"];
  // The integration adds, typed by their own modules: `rateLimits` (shared buckets for
  // sessions, handshakes and file commands) and `stopChannel` (stop requests that reach the
  // node holding an upload's PATCH). Undefined there means the node's in-process default.
  /** Configured engines this build cannot run yet (the node runs embedded instead). */
  pending: string[];
  /** What the node runs on, for its start line. */
  describe: string;
  /** Closes what the engines opened (connections, databases), after the service stopped. */
  close(): Promise<void>;
}

export async function openEngines(config: Config): Promise<Engines> {
  await Deno.mkdir(`${config.dataDir}/uploads`, { recursive: true });
  const store = new SqliteStore(`${config.dataDir}/state.db`);
  const storage = new LocalDiskStorage(`${config.dataDir}/uploads`, {
    idleTimeoutMs: config.idleTimeoutMs,
  });
  const pending: string[] = [];
  if (config.redis) pending.push("H5_REDIS_URL");
  if (config.s3) pending.push("H5_S3_BUCKET");
  return {
    store,
    storage,
    locker: new MemoryLocker(),
    pending,
    describe: `data in ${config.dataDir}`,
    close: () => store.close(),
  };
}
