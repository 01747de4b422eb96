/**
 * The glue between one `<h5-uploader>` and its engine: owns the UploadEngine, hands each
 * snapshot to the host, re-dispatches engine events as DOM events, and holds the browser
 * resources an upload needs (image thumbnails as object URLs, a screen wake lock, a
 * `beforeunload` warning). No rendering here; the element stays a view.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type {
  EngineEvents,
  EngineOptions,
  EngineSnapshot,
  FileLike,
  FileSnapshot,
  Rejection,
} from "./engine/types.ts";
import { ENDED } from "../protocol/status.ts";
import { DOM_EVENTS } from "./events.ts";
import { type Milestone, milestones } from "./milestones.ts";

/** Engine options the element decides; the browser wiring (http, store, socket) is not here. */
export type EngineConfig = Omit<EngineOptions, "http" | "store" | "blobs" | "connectSocket">;

/** What `addFiles` did: the files added, and the ones refused before sending (and why). */
export interface AddResult {
  readonly added: readonly FileSnapshot[];
  readonly rejected: readonly Rejection[];
}

/** What the controller uses of `UploadEngine` (so tests may pass a fake). */
export interface Engine {
  readonly snapshot: EngineSnapshot;
  subscribe(listener: (snapshot: EngineSnapshot) => void): () => void;
  on<K extends keyof EngineEvents>(
    name: K,
    listener: (detail: EngineEvents[K]) => void,
  ): () => void;
  addFiles(files: Iterable<FileLike>): AddResult;
  start(): Promise<void>;
  pause(id?: string): unknown;
  resume(id?: string): unknown;
  cancel(id?: string): unknown;
  retry(id: string): unknown;
  /** Continues an upload listed after a reload with the same file picked again. */
  continueWith(id: string, file: FileLike): Promise<boolean>;
  remove(id: string): unknown;
  file(id: string): FileLike | undefined;
  destroy(): void;
}

export interface UploadHost extends ReactiveControllerHost, EventTarget {
  readonly isConnected: boolean;
}

export interface UploadControllerOptions {
  /** The engine options now (read when an engine is created). */
  config(): EngineConfig;
  createEngine(config: EngineConfig): Engine;
  /** Called with the milestones of each new snapshot (for the live region). */
  announce?(milestones: Milestone[]): void;
}

/** The snapshot before any engine exists. */
export const EMPTY_SNAPSHOT: EngineSnapshot = Object.freeze({
  files: [],
  connection: "idle",
  sessionId: null,
  limits: null,
  totals: { bytes: 0, done: 0, progress: 0, speed: 0, eta: null },
  busy: false,
  complete: false,
  ended: null,
});

interface Thumbnail {
  url: string;
  /** Revoked: the `<img>` keeps its pixels, the blob is released. */
  revoked: boolean;
  loaded: boolean;
  failed: boolean;
}

export class UploadController implements ReactiveController {
  #host: UploadHost;
  #options: UploadControllerOptions;
  #engine: Engine | null = null;
  #configKey = "";
  #off: (() => void)[] = [];
  #snapshot: EngineSnapshot = EMPTY_SNAPSHOT;
  #thumbnails = new Map<string, Thumbnail>();
  #busy = false;
  #wakeLock: WakeLockSentinel | null = null;
  #locking = false;

  constructor(host: UploadHost, options: UploadControllerOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
  }

  /** The latest engine snapshot. */
  get snapshot(): EngineSnapshot {
    return this.#snapshot;
  }

  hostUpdate(): void {
    // Options may change until the first file is added; after that the session is fixed.
    // Rows only listed after a reload do not fix it: a host page that sets `session-id` late
    // gets a new engine, which lists that session's uploads instead.
    const key = JSON.stringify(this.#options.config());
    if (key !== this.#configKey && this.#snapshot.files.every((f) => f.waiting)) this.#teardown();
    if (this.#host.isConnected) this.engine;
  }

  hostConnected(): void {
    // Back after a removal: the next update makes a new engine and redraws.
    if (!this.#engine) this.#host.requestUpdate();
  }

  hostDisconnected(): void {
    // A move (remove + insert in one task) keeps the uploads; a removal ends them.
    queueMicrotask(() => {
      if (!this.#host.isConnected) this.#teardown();
    });
  }

  /** The engine, created on first use with the host's current options. */
  get engine(): Engine {
    if (!this.#engine) {
      const config = this.#options.config();
      this.#configKey = JSON.stringify(config);
      const engine = this.#options.createEngine(config);
      this.#engine = engine;
      const forward = <K extends keyof EngineEvents>(name: K) =>
        engine.on(name, (detail) => {
          const DomEvent = DOM_EVENTS[name] as new (detail: EngineEvents[K]) => Event;
          this.#host.dispatchEvent(new DomEvent(detail));
        });
      this.#off = [
        engine.subscribe(() => this.#update(engine.snapshot)),
        ...(Object.keys(DOM_EVENTS) as (keyof EngineEvents)[]).map(forward),
      ];
      this.#update(engine.snapshot);
    }
    return this.#engine;
  }

  addFiles(files: Iterable<FileLike>): AddResult {
    return this.engine.addFiles(files);
  }

  /** Cancels and forgets every file (form reset). */
  clear(): void {
    if (!this.#engine) return;
    this.#engine.cancel();
    for (const file of this.#engine.snapshot.files) this.#engine.remove(file.id);
  }

  /** Object URL of an image file's preview, or undefined (show an icon). */
  thumbnail(id: string): string | undefined {
    const thumbnail = this.#thumbnails.get(id);
    return thumbnail && !thumbnail.failed ? thumbnail.url : undefined;
  }

  /** The preview image finished loading (`ok`) or could not be decoded. */
  thumbnailLoaded(id: string, ok: boolean): void {
    const thumbnail = this.#thumbnails.get(id);
    if (!thumbnail) return;
    thumbnail.loaded = true;
    thumbnail.failed ||= !ok;
    const file = this.#snapshot.files.find((f) => f.id === id);
    if (!ok || (file && ENDED.has(file.status))) this.#revoke(thumbnail);
    if (!ok) this.#host.requestUpdate();
  }

  #update(next: EngineSnapshot): void {
    const prev = this.#snapshot;
    if (next === prev) return;
    this.#snapshot = next;
    this.#syncThumbnails(next.files);
    this.#syncBusy(next.busy);
    const passed = milestones(prev, next);
    if (passed.length) this.#options.announce?.(passed);
    this.#host.requestUpdate();
  }

  #syncThumbnails(files: readonly FileSnapshot[]): void {
    const present = new Set(files.map((f) => f.id));
    for (const [id, thumbnail] of this.#thumbnails) {
      if (!present.has(id)) {
        this.#revoke(thumbnail);
        this.#thumbnails.delete(id);
      }
    }
    for (const file of files) {
      let thumbnail = this.#thumbnails.get(file.id);
      if (!thumbnail && file.type.startsWith("image/")) {
        const blob = this.#engine?.file(file.id);
        if (!(blob instanceof Blob)) continue;
        thumbnail = {
          url: URL.createObjectURL(blob),
          revoked: false,
          loaded: false,
          failed: false,
        };
        this.#thumbnails.set(file.id, thumbnail);
      }
      // Done: release the blob once the preview is decoded (the <img> keeps its pixels).
      if (thumbnail?.loaded && ENDED.has(file.status)) this.#revoke(thumbnail);
    }
  }

  #revoke(thumbnail: Thumbnail): void {
    if (thumbnail.revoked) return;
    thumbnail.revoked = true;
    URL.revokeObjectURL(thumbnail.url);
  }

  #syncBusy(busy: boolean): void {
    if (busy === this.#busy) return;
    this.#busy = busy;
    const method = busy ? "addEventListener" : "removeEventListener";
    globalThis[method]("beforeunload", this.#onBeforeUnload);
    globalThis.document?.[method]("visibilitychange", this.#onVisibility);
    if (busy) this.#lock();
    else this.#unlock();
  }

  /** Mid-upload, leaving the page asks first (the browser shows its own text). */
  #onBeforeUnload = (event: Event): void => {
    event.preventDefault();
    (event as BeforeUnloadEvent).returnValue = "";
  };

  /** The browser drops a wake lock when the page is hidden; take it again on return. */
  #onVisibility = (): void => {
    if (this.#busy && document.visibilityState === "visible") this.#lock();
  };

  async #lock(): Promise<void> {
    const wakeLock = globalThis.navigator?.wakeLock;
    if (!wakeLock || this.#locking || (this.#wakeLock && !this.#wakeLock.released)) return;
    this.#locking = true;
    try {
      this.#wakeLock = await wakeLock.request("screen");
      if (!this.#busy) this.#unlock();
    } catch {
      // Denied (battery saver, not visible, permissions policy): uploads go on without it.
    } finally {
      this.#locking = false;
    }
  }

  #unlock(): void {
    this.#wakeLock?.release().catch(() => {});
    this.#wakeLock = null;
  }

  #teardown(): void {
    for (const off of this.#off) off();
    this.#off = [];
    this.#engine?.destroy();
    this.#engine = null;
    for (const thumbnail of this.#thumbnails.values()) this.#revoke(thumbnail);
    this.#thumbnails.clear();
    this.#syncBusy(false);
    this.#snapshot = EMPTY_SNAPSHOT;
  }
}
