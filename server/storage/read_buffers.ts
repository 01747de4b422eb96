/**
 * The two BYOB read buffers of a PATCH (the socket fills one while the disk takes the other),
 * sized to the body's pace: they start small and double only while the body keeps them full.
 *
 * Why: two fixed 512 KiB buffers held 1 MiB per PATCH in flight from its first byte (100 MiB
 * for the real-time bench's 100 paced PATCHes streaming at ~0.4 MB/s; now 25 MiB), while only a
 * fast body needs them (README: 512 KiB measured 713–779 MB/s and 1.31–1.42 CPU s/GiB, 256 KiB
 * 605–689 MB/s and 1.47–1.57). The bench's peak RSS moved little (README, issue #9 round 3).
 */

const KiB = 1024;
/** A slow body (phones, paced uploads) never holds more than two of these. */
export const MIN_READ_BUFFER_BYTES = 64 * KiB;
/** The size that gave the upload bench's figures (see the measurement above). */
export const MAX_READ_BUFFER_BYTES = 512 * KiB;
/**
 * A full read counts as a backlog only when the body filled it at this rate or faster: a
 * client that paces pieces exactly the buffer's size (the real-time bench sends 64 KiB every
 * ~150 ms) fills every read without ever being ahead of us.
 */
export const GROW_RATE_BYTES_PER_MS = (4 * 1024 * KiB) / 1000;
/**
 * Fast full reads, with no slow read between them, before doubling: one can be a piece that
 * was already waiting.
 */
const GROW_AFTER = 2;

export class ReadBuffers {
  #size = MIN_READ_BUFFER_BYTES;
  /** The buffer of the read before last: its write has ended, so the next read may use it. */
  #free: ArrayBuffer | null = null;
  /** The buffer of the last read, which the disk may still be writing. */
  #writing: ArrayBuffer | null = null;
  #streak = 0;
  #lastAt: number;
  readonly #now: () => number;
  readonly #onAllocate: ((bytes: number) => void) | undefined;

  constructor(onAllocate?: (bytes: number) => void, now: () => number = () => performance.now()) {
    this.#onAllocate = onAllocate;
    this.#now = now;
    this.#lastAt = now();
  }

  /** Current buffer size (the next read's view). */
  get size(): number {
    return this.#size;
  }

  /**
   * The whole buffer for the next read: Deno 2.9 never settles a small BYOB read (measured
   * with a 1-byte view) at the end of a chunked body, so the view is never cut down.
   */
  view(): Uint8Array<ArrayBuffer> {
    let buffer = this.#free;
    this.#free = null;
    if (!buffer || buffer.byteLength !== this.#size) {
      buffer = new ArrayBuffer(this.#size);
      this.#onAllocate?.(this.#size);
    }
    return new Uint8Array(buffer);
  }

  /**
   * After each read with data: `value` is what it returned (its buffer is now being written),
   * so the previous one is free again. Grows the size after GROW_AFTER fast full reads.
   */
  returned(value: Uint8Array): void {
    this.#free = this.#writing;
    this.#writing = value.buffer as ArrayBuffer;
    const now = this.#now();
    const full = value.byteLength === value.buffer.byteLength;
    const fast = now - this.#lastAt <= value.byteLength / GROW_RATE_BYTES_PER_MS;
    this.#lastAt = now;
    if (!fast) {
      this.#streak = 0;
      return;
    }
    // A fast short read does not break the streak: a read returns at most one of the HTTP
    // engine's frames, so frames between one and two buffers long (measured on the server:
    // 256 KiB reads came back full and short in turn) alternate full and short reads.
    if (!full) return;
    if (++this.#streak < GROW_AFTER || this.#size >= MAX_READ_BUFFER_BYTES) return;
    this.#streak = 0;
    this.#size = Math.min(this.#size * 2, MAX_READ_BUFFER_BYTES);
  }
}
