/** Fakes for the widget's tests: an engine driven by hand and a controller host. */
import type { ReactiveController } from "lit";
import { endStatus } from "../protocol/events.ts";
import { ACTIVE, SETTLED } from "../protocol/status.ts";
import type { EngineEvents, EngineSnapshot, FileLike, FileSnapshot } from "./engine/types.ts";
import {
  type AddResult,
  EMPTY_SNAPSHOT,
  type Engine,
  type EngineConfig,
  type UploadHost,
} from "./upload_controller.ts";

export function file(id: string, patch: Partial<FileSnapshot> = {}): FileSnapshot {
  return {
    id,
    name: `${id}.jpg`,
    size: 100,
    type: "image/jpeg",
    status: "queued",
    bytesSent: 0,
    bytesConfirmed: 0,
    progress: 0,
    speed: 0,
    eta: null,
    retry: null,
    error: null,
    canRetry: false,
    uploadUrl: null,
    uploadPath: null,
    ...patch,
  };
}

const count = (files: FileSnapshot[], status: FileSnapshot["status"]) =>
  files.filter((f) => f.status === status).length;

/** A consistent snapshot of `files` (totals, busy, complete as the engine computes them). */
export function snapshot(
  files: FileSnapshot[],
  patch: Partial<EngineSnapshot> = {},
): EngineSnapshot {
  const live = files.filter((f) => f.status !== "cancelled");
  const bytes = live.reduce((n, f) => n + f.size, 0);
  const done = live.reduce((n, f) => n + f.progress * f.size, 0);
  return {
    ...EMPTY_SNAPSHOT,
    files,
    totals: { bytes, done, progress: bytes ? done / bytes : 0, speed: 0, eta: null },
    busy: files.some((f) => ACTIVE.has(f.status)),
    complete: files.some((f) => f.status === "completed") &&
      files.every((f) => f.status === "completed" || f.status === "cancelled"),
    ended: files.length && files.every((f) => SETTLED.has(f.status))
      ? endStatus(count(files, "completed"), count(files, "failed"))
      : null,
    ...patch,
  };
}

/** An engine whose state the test sets; records the commands it gets. */
export class FakeEngine implements Engine {
  snapshot: EngineSnapshot = EMPTY_SNAPSHOT;
  readonly calls: string[] = [];
  readonly blobs = new Map<string, FileLike>();
  destroyed = false;
  #listeners = new Set<(s: EngineSnapshot) => void>();
  #handlers = new Map<string, Set<(detail: never) => void>>();

  constructor(readonly config: EngineConfig) {}

  subscribe(listener: (s: EngineSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  on<K extends keyof EngineEvents>(name: K, listener: (d: EngineEvents[K]) => void): () => void {
    const set = this.#handlers.get(name) ?? new Set();
    set.add(listener as (detail: never) => void);
    this.#handlers.set(name, set);
    return () => set.delete(listener as (detail: never) => void);
  }

  /** Publishes a new snapshot to subscribers. */
  set(next: EngineSnapshot): void {
    this.snapshot = next;
    for (const listener of this.#listeners) listener(next);
  }

  emit<K extends keyof EngineEvents>(name: K, detail: EngineEvents[K]): void {
    for (const listener of this.#handlers.get(name) ?? []) listener(detail as never);
  }

  listenerCount(): number {
    return this.#listeners.size + [...this.#handlers.values()].reduce((n, s) => n + s.size, 0);
  }

  addFiles(files: Iterable<FileLike>): AddResult {
    const added = [...files].map((blob, i) => {
      const id = `f${this.snapshot.files.length + i}`;
      this.blobs.set(id, blob);
      return file(id, { name: blob.name, size: blob.size, type: blob.type });
    });
    this.set(snapshot([...this.snapshot.files, ...added]));
    return { added, rejected: [] };
  }

  start(): Promise<void> {
    this.calls.push("start");
    return Promise.resolve();
  }
  pause(id?: string): void {
    this.calls.push(`pause ${id ?? "*"}`);
  }
  resume(id?: string): void {
    this.calls.push(`resume ${id ?? "*"}`);
  }
  cancel(id?: string): void {
    this.calls.push(`cancel ${id ?? "*"}`);
  }
  retry(id: string): void {
    this.calls.push(`retry ${id}`);
  }
  continueWith(id: string, file: FileLike): Promise<boolean> {
    this.calls.push(`continueWith ${id} ${file.name}`);
    return Promise.resolve(true);
  }
  remove(id: string): void {
    this.calls.push(`remove ${id}`);
    this.set(snapshot(this.snapshot.files.filter((f) => f.id !== id)));
  }
  file(id: string): FileLike | undefined {
    return this.blobs.get(id);
  }
  destroy(): void {
    this.destroyed = true;
  }
}

/** A controller host without a DOM: counts update requests, records dispatched events. */
export class FakeHost extends EventTarget implements UploadHost {
  isConnected = true;
  updates = 0;
  readonly controllers: ReactiveController[] = [];
  readonly events: Event[] = [];

  constructor() {
    super();
    for (
      const name of [
        "h5-upload-start",
        "h5-upload-progress",
        "h5-upload-complete",
        "h5-upload-error",
        "h5-session-complete",
      ]
    ) {
      this.addEventListener(name, (e) => this.events.push(e));
    }
  }
  addController(controller: ReactiveController): void {
    this.controllers.push(controller);
  }
  removeController(): void {}
  requestUpdate(): void {
    this.updates++;
  }
  get updateComplete(): Promise<boolean> {
    return Promise.resolve(true);
  }
}
