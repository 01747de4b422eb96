/**
 * What both write paths (local disk, S3) do around reading a PATCH body: stop the read at
 * once when the caller aborts or the storage fails, end a body that stalls, and name why the
 * loop ended. One place, so the two storages give the same stops for the same body.
 */
import type { HeadTap } from "./head_tap.ts";
import type { WriteOptions, WriteStop } from "./storage.ts";

type Reader = ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;

export class BodyWatch {
  /** Aborted by the storage itself (a failed sync or checkpoint, an idle body). */
  readonly failed = new AbortController();
  /** The caller's signal and `failed` together. */
  readonly signal: AbortSignal;
  readonly #options: WriteOptions;
  readonly #idleTimeoutMs: number | undefined;
  #reader: Reader | null = null;
  #idle: { touch(): void; stop(): void } | null = null;
  readonly #onAbort = () => this.#reader?.cancel(this.signal.reason).catch(() => {});

  constructor(options: WriteOptions, idleTimeoutMs?: number) {
    this.#options = options;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.signal = options.signal
      ? AbortSignal.any([options.signal, this.failed.signal])
      : this.failed.signal;
  }

  /** Starts watching `reader`; `dispose()` when the loop is over. */
  attach(reader: Reader): void {
    this.#reader = reader;
    // Cancelling settles a pending read with `done`, so the loop sees the abort at once.
    this.signal.addEventListener("abort", this.#onAbort, { once: true });
    if (this.signal.aborted) this.#onAbort();
    // Slowloris: a client that stops sending mid-body would hold the upload, its lock and a
    // socket for ever; ending it as "interrupted" commits what arrived, so it can resume.
    if (this.#idleTimeoutMs) {
      this.#idle = idleWatch(this.#idleTimeoutMs, () => this.failed.abort("idle"));
    }
  }

  /** A read came back. */
  touch(): void {
    this.#idle?.touch();
  }

  /** Why a read came back done: the caller's abort, our own, or the body's end. */
  endStop(): WriteStop {
    if (this.#options.signal?.aborted) return "aborted";
    return this.signal.aborted ? "interrupted" : "end";
  }

  /** The part of `value` that fits in what `taken` bytes leave of `maxBytes`. */
  clip(value: Uint8Array, taken: number): Uint8Array {
    const room = this.#options.maxBytes - taken;
    return value.byteLength <= room ? value : value.subarray(0, room);
  }

  /**
   * After `chunk` (cut from `value`) was stored: "rejected" when the head check refuses the
   * content, "limit" when the body ran past `maxBytes`, else null. Either stop cancels the body.
   */
  async afterChunk(
    head: HeadTap | null,
    chunk: Uint8Array,
    value: Uint8Array,
  ): Promise<WriteStop | null> {
    if (head && !(await head.feed(chunk))) {
      await this.#reader?.cancel("content type not allowed").catch(() => {});
      return "rejected";
    }
    if (chunk !== value) {
      await this.#reader?.cancel("upload size limit reached").catch(() => {});
      return "limit";
    }
    return null;
  }

  /** Ends the watch; `stop` null means the storage failed, and the body must not hang then. */
  async dispose(stop: WriteStop | null): Promise<void> {
    this.signal.removeEventListener("abort", this.#onAbort);
    this.#idle?.stop();
    if (stop === null) await this.#reader?.cancel("storage write failed").catch(() => {});
  }
}

/** Calls `onIdle` once no `touch()` came for `ms`; one timer, re-armed only when it fires. */
export function idleWatch(ms: number, onIdle: () => void): { touch(): void; stop(): void } {
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout>;
  const check = () => {
    const quiet = Date.now() - last;
    if (quiet >= ms) onIdle();
    else timer = setTimeout(check, ms - quiet);
  };
  timer = setTimeout(check, ms);
  return {
    touch: () => {
      last = Date.now();
    },
    stop: () => clearTimeout(timer),
  };
}
