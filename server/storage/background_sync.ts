/**
 * fdatasync of a part while its body is still arriving, so the sync before a PATCH's answer
 * has little left to flush. Measured on this project's machine: syncing only at 250 ms
 * checkpoints and at the end, on the handle that writes, left a 1 GiB upload bound by write
 * time plus flush time; Deno runs the operations of one FsFile one after another, so each
 * checkpoint's fdatasync also stalled the writes queued behind it. Here the syncs run on a
 * second handle of the same file (fdatasync flushes the file, whichever descriptor wrote),
 * back to back while at least `eagerBytes` are unsynced, so the disk works while the socket
 * is read.
 */

/** What is needed of the second handle: `Deno.FsFile` fits. */
export interface SyncHandle {
  syncData(): Promise<void>;
}

/**
 * 8 MiB: 2, 8 and 32 MiB were within the noise of paired 1 GiB runs on this project's (shared)
 * machine; much smaller means a journal commit every few milliseconds for nothing.
 */
export const DEFAULT_EAGER_SYNC_BYTES = 8 * 2 ** 20;

export class BackgroundSync {
  readonly #handle: SyncHandle;
  readonly #eagerBytes: number;
  readonly #onError: (error: unknown) => void;
  /** Offset up to which every write() has returned: those bytes are in the page cache. */
  #written: number;
  /** Offset up to which an fdatasync that started after the bytes were written has ended. */
  #durable: number;
  #running: Promise<void> | null = null;
  #failure: { error: unknown } | null = null;

  constructor(
    handle: SyncHandle,
    offset: number,
    options: { eagerBytes?: number; onError?: (error: unknown) => void } = {},
  ) {
    this.#handle = handle;
    this.#written = offset;
    this.#durable = offset;
    this.#eagerBytes = options.eagerBytes ?? DEFAULT_EAGER_SYNC_BYTES;
    this.#onError = options.onError ?? (() => {});
  }

  /** Bytes up to `offset` are written; syncs in the background once enough are unsynced. */
  written(offset: number): void {
    if (offset > this.#written) this.#written = offset;
    this.#startIfBehind(this.#eagerBytes);
  }

  /** An offset already on disk (no waiting). */
  get durable(): number {
    return this.#durable;
  }

  /**
   * Every byte written before this call is on disk when it resolves (with the durable
   * offset). A background sync that started earlier does not count unless it covered them.
   */
  async flush(): Promise<number> {
    const target = this.#written;
    for (;;) {
      if (this.#running) await this.#running;
      if (this.#failure) throw this.#failure.error;
      if (this.#durable >= target) return this.#durable;
      this.#startIfBehind(1);
    }
  }

  /** One fdatasync at a time: a second one would only wait for the same disk. */
  #startIfBehind(minBytes: number): void {
    if (this.#running || this.#failure || this.#written - this.#durable < minBytes) return;
    // Only bytes whose write() returned before the sync starts are sure to be in it.
    const covered = this.#written;
    this.#running = this.#handle.syncData().then(
      () => {
        this.#durable = Math.max(this.#durable, covered);
        this.#running = null;
        this.#startIfBehind(this.#eagerBytes);
      },
      (error) => {
        this.#failure ??= { error };
        this.#running = null;
        this.#onError(error);
      },
    );
  }
}
