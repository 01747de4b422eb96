/**
 * Collects a part's first bytes as a write streams them past (WriteOptions.head), so the
 * content check never reads an unfinished part back: S3 cannot read a multipart upload's parts.
 */
import type { HeadCheck } from "./storage.ts";

/** Largest head a check may ask for: the sniffers need 4,100 bytes. */
export const MAX_HEAD_BYTES = 64 * 1024;

export class HeadTap {
  readonly #check: HeadCheck["check"];
  readonly #head: Uint8Array;
  #filled: number;
  #done = false;

  /**
   * `prefix`: the part's bytes before this write's first byte (`offset` of them), or null
   * when the write starts at or past `head.bytes` (then the tap never fires).
   */
  static start(head: HeadCheck | undefined, offset: number, prefix: Uint8Array | null) {
    if (!head || offset >= head.bytes) return null;
    if (!Number.isSafeInteger(head.bytes) || head.bytes <= 0 || head.bytes > MAX_HEAD_BYTES) {
      throw new RangeError(`Cannot check a head of ${head.bytes} bytes (1-${MAX_HEAD_BYTES})`);
    }
    if (!prefix || prefix.byteLength < offset) {
      throw new Error(`Cannot check the head: ${offset} earlier bytes are not available`);
    }
    return new HeadTap(head, prefix.subarray(0, offset));
  }

  private constructor(head: HeadCheck, prefix: Uint8Array) {
    this.#check = head.check;
    this.#head = new Uint8Array(head.bytes);
    this.#head.set(prefix);
    this.#filled = prefix.byteLength;
  }

  /** Takes the next bytes; resolves false once the head is complete and the check said no. */
  async feed(chunk: Uint8Array): Promise<boolean> {
    if (this.#done) return true;
    const take = Math.min(chunk.byteLength, this.#head.byteLength - this.#filled);
    this.#head.set(chunk.subarray(0, take), this.#filled);
    this.#filled += take;
    if (this.#filled < this.#head.byteLength) return true;
    this.#done = true;
    return await this.#check(this.#head);
  }
}
