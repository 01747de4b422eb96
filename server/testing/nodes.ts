/**
 * Several in-process nodes sharing one state store, one lock backend, one stop channel hub
 * and one storage, each with its own UploadService and EventBus: what several servers behind
 * a balancer share, without processes. Memory engines by default; a test may pass Redis ones.
 */
import { TokenSigner } from "../auth/token.ts";
import { type Config, loadConfig } from "../config.ts";
import { MemoryStopChannel, MemoryStopHub } from "../cluster/memory_stop_channel.ts";
import type { StopChannel } from "../cluster/stop_channel.ts";
import type { Locker } from "../lock/locker.ts";
import { MemoryLockBackend, MemoryLocker } from "../lock/memory_locker.ts";
import { MemoryStore } from "../state/memory_store.ts";
import type { StateStore, UploadRecord, WriteCondition } from "../state/store.ts";
import { LocalDiskStorage } from "../storage/local_disk.ts";
import { EventBus } from "../upload/event_bus.ts";
import type { StopReason } from "../upload/in_flight.ts";
import { UploadService } from "../upload/service.ts";
import type { RoomEvent } from "../../protocol/events.ts";

export interface Node {
  service: UploadService;
  bus: EventBus;
  /** Room events this node's bus published. */
  events: RoomEvent[];
  locker: Locker;
}

export interface NodeEngines {
  store: StateStore;
  locker: Locker;
  stopChannel: StopChannel<StopReason>;
}

export interface Nodes {
  nodes: Node[];
  /** The shared store, as the nodes see it (writes can be awaited with `until`). */
  store: StateStore;
  storage: LocalDiskStorage;
  root: string;
  config: Config;
  clock: { now: number };
  /** Resolves with the first upload record written (by any node) that `test` accepts. */
  until(test: (upload: UploadRecord) => boolean): Promise<UploadRecord>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface NodesOptions {
  env?: Record<string, string>;
  /** The engines of node `i` (default: memory ones on one backend, hub and store). */
  engines?: (i: number) => Promise<NodeEngines>;
}

/** `count` nodes over shared engines; the memory lockers use H5_LOCK_LEASE_MS as lease. */
export async function startNodes(count: number, options: NodesOptions = {}): Promise<Nodes> {
  const root = await Deno.makeTempDir({ prefix: "h5-nodes-" });
  const config = loadConfig({ H5_DATA_DIR: root, ...options.env });
  const clock = { now: Date.now() };
  const storage = new LocalDiskStorage(`${root}/uploads`);
  const backend = new MemoryLockBackend();
  const hub = new MemoryStopHub();
  const memoryStore = new MemoryStore();
  const engines = options.engines ?? ((): Promise<NodeEngines> =>
    Promise.resolve({
      store: memoryStore,
      locker: new MemoryLocker({ backend, leaseMs: config.lockLeaseMs }),
      stopChannel: new MemoryStopChannel<StopReason>(hub),
    }));
  const watchers = new Set<(upload: UploadRecord) => void>();
  const nodes: Node[] = [];
  let shared: StateStore | null = null;
  for (let i = 0; i < count; i++) {
    const e = await engines(i);
    const store = watched(e.store, watchers);
    shared ??= store;
    const bus = new EventBus();
    const events: RoomEvent[] = [];
    bus.subscribe((event) => events.push(event));
    const service = new UploadService({
      store,
      storage,
      locker: e.locker,
      bus,
      stopChannel: e.stopChannel,
      tokens: new TokenSigner("test-secret-0123456789", () => clock.now),
      config,
      now: () => clock.now,
    });
    nodes.push({ service, bus, events, locker: e.locker });
  }
  return {
    nodes,
    store: shared!,
    storage,
    root,
    config,
    clock,
    until(test) {
      return new Promise((resolve) => {
        const listener = (upload: UploadRecord) => {
          if (!test(upload)) return;
          watchers.delete(listener);
          resolve(upload);
        };
        watchers.add(listener);
      });
    },
    async [Symbol.asyncDispose]() {
      for (const node of nodes) {
        node.service.stopAll();
        node.service.close();
      }
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

/** The store, telling `watchers` of every upload write that happened. */
function watched(store: StateStore, watchers: Set<(upload: UploadRecord) => void>): StateStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "putUpload") {
        return async (upload: UploadRecord, condition?: WriteCondition) => {
          const written = await target.putUpload(upload, condition);
          if (written) { for (const watcher of [...watchers]) watcher(upload); }
          return written;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A request body the test feeds: `push` bytes, then `end` (or `fail`). */
export function feeder(): {
  body: ReadableStream<Uint8Array>;
  push(bytes: Uint8Array): void;
  end(): void;
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    push: (bytes) => controller.enqueue(bytes),
    end: () => {
      try {
        controller.close();
      } catch {
        // Already closed or cancelled by the storage (a stopped write): nothing to end.
      }
    },
  };
}
