/**
 * Appends bytes to an unfinished upload in S3 with at most one part in memory. New bytes fill
 * a buffer; when the stored segments plus the buffer reach PART_SIZE, the segments are read
 * back once (the only read-back of their bytes) in front of the buffer and the whole becomes
 * the next part (then the manifest, then the caller's checkpoint); `finish` stores what is
 * left as one new segment object. Below a part, a write never reads anything back.
 */
import { PutObjectCommand, UploadPartCommand, UploadPartCopyCommand } from "@aws-sdk/client-s3";
import { MAX_HEAD_BYTES } from "../head_tap.ts";
import { MIN_READ_BUFFER_BYTES } from "../read_buffers.ts";
import {
  durable,
  headKey,
  type Manifest,
  PART_SIZE,
  saveManifest,
  segmentKey,
} from "./manifest.ts";
import { getRange, type S3Place, segmentsStream } from "./s3_range.ts";

export { getRange, segmentsStream };

/** As the local disk's smallest read buffers (read_buffers.ts). */
const MIN_PART_BUFFER = MIN_READ_BUFFER_BYTES;

export type { S3Place };

export class PartWriter {
  readonly #place: S3Place;
  readonly #id: string;
  readonly #manifest: Manifest;
  readonly #onPart: ((offset: number) => void | Promise<void>) | undefined;
  /** Test seam: each (re)allocation of the part buffer, in bytes. */
  readonly #onBuffer: ((bytes: number) => void) | undefined;
  // Grown on demand (doubling, up to PART_SIZE): a full 5 MiB part is needed only once 5 MiB
  // have arrived, and a slow or small upload in flight must not hold 5 MiB from its first byte.
  #buffer = new Uint8Array(0);
  #filled = 0;

  private constructor(
    place: S3Place,
    id: string,
    manifest: Manifest,
    onPart?: (offset: number) => void | Promise<void>,
    onBuffer?: (bytes: number) => void,
  ) {
    this.#onBuffer = onBuffer;
    this.#place = place;
    this.#id = id;
    this.#manifest = manifest;
    this.#onPart = onPart;
  }

  /**
   * `onPart`: called (and awaited) with the durable offset after each part is stored;
   * `onBuffer`: see WriteOptions.onReadBuffer.
   */
  static open(
    place: S3Place,
    id: string,
    manifest: Manifest,
    onPart?: (offset: number) => void | Promise<void>,
    onBuffer?: (bytes: number) => void,
  ): Promise<PartWriter> {
    return Promise.resolve(new PartWriter(place, id, manifest, onPart, onBuffer));
  }

  /** Offset of the next byte (stored or in memory). */
  get offset(): number {
    return durable(this.#manifest) + this.#filled;
  }

  get durable(): number {
    return durable(this.#manifest);
  }

  /**
   * The upload's first `length` bytes, all stored, when no part is (read back from the
   * segments: at most the 64 KiB of a head check still waiting for its bytes), else null.
   */
  async prefix(length: number): Promise<Uint8Array | null> {
    if (this.#manifest.parts.length > 0 || length > this.durable) return null;
    const body = segmentsStream(this.#place, this.#manifest.segs, length);
    return new Uint8Array(await new Response(body).arrayBuffer());
  }

  /** At a part boundary: nothing stored or in memory past the last part. */
  get empty(): boolean {
    return this.buffered === 0;
  }

  /** Bytes past the last stored part (segments and memory). */
  get buffered(): number {
    return this.#manifest.tail + this.#filled;
  }

  async append(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.byteLength) {
      at += this.#take(bytes.subarray(at));
      if (this.buffered === PART_SIZE) await this.#storePart();
    }
  }

  /**
   * Makes `size` (>= PART_SIZE, or the last) bytes of object `key` from `start` the next part
   * by a server-side copy. Only at a part boundary (`empty`).
   */
  async appendCopy(key: string, start: number, size: number): Promise<void> {
    if (!this.empty) throw new Error("Cannot copy a part: bytes are waiting in the buffer");
    const n = this.#manifest.parts.length + 1;
    const { client, bucket } = this.#place;
    const copied = await client.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: this.#manifest.key,
        UploadId: this.#manifest.uploadId,
        PartNumber: n,
        CopySource: `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`,
        CopySourceRange: `bytes=${start}-${start + size - 1}`,
      }),
    );
    if (n === 1) {
      const head = await getRange(this.#place, key, start, Math.min(size, MAX_HEAD_BYTES));
      await this.#putHead(new Uint8Array(await new Response(head).arrayBuffer()));
    }
    await this.#recordPart(n, copied.CopyPartResult?.ETag, size);
  }

  /** Stores the bytes in memory as one new segment object. */
  async finish(): Promise<void> {
    if (this.#filled === 0) return;
    const manifest = this.#manifest;
    const key = segmentKey(this.#id, durable(manifest));
    const { client, bucket } = this.#place;
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: this.#buffer.subarray(0, this.#filled),
        ContentLength: this.#filled,
      }),
    );
    manifest.segs.push({ key, size: this.#filled });
    manifest.tail += this.#filled;
    this.#filled = 0;
    await saveManifest(client, bucket, this.#id, manifest);
  }

  #take(bytes: Uint8Array): number {
    const n = Math.min(bytes.byteLength, PART_SIZE - this.buffered);
    if (this.#filled + n > this.#buffer.byteLength) this.#grow(this.#filled + n);
    this.#buffer.set(bytes.subarray(0, n), this.#filled);
    this.#filled += n;
    return n;
  }

  /** Kept once at PART_SIZE: an upload that filled one part is likely to fill the next. */
  #grow(needed: number): void {
    let size = Math.max(this.#buffer.byteLength, MIN_PART_BUFFER);
    while (size < needed) size *= 2;
    size = Math.min(size, PART_SIZE);
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#filled));
    this.#buffer = grown;
    this.#onBuffer?.(size);
  }

  async #storePart(): Promise<void> {
    const manifest = this.#manifest;
    const n = manifest.parts.length + 1;
    const { client, bucket } = this.#place;
    const lead = manifest.tail;
    if (lead > 0) {
      // The one read-back of these segments' bytes, in front of the new ones.
      if (this.#buffer.byteLength < PART_SIZE) this.#grow(PART_SIZE);
      this.#buffer.copyWithin(lead, 0, this.#filled);
      let at = 0;
      for await (const chunk of segmentsStream(this.#place, manifest.segs, lead)) {
        this.#buffer.set(chunk, at);
        at += chunk.byteLength;
      }
    }
    const body = this.#buffer.subarray(0, lead + this.#filled);
    const stored = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: manifest.key,
        UploadId: manifest.uploadId,
        PartNumber: n,
        Body: body,
        ContentLength: body.byteLength,
      }),
    );
    // The head is about to become unreadable (S3 serves no part of an open upload).
    if (n === 1) await this.#putHead(body.subarray(0, MAX_HEAD_BYTES));
    this.#filled = 0;
    await this.#recordPart(n, stored.ETag, body.byteLength);
  }

  async #putHead(head: Uint8Array): Promise<void> {
    const { client, bucket } = this.#place;
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: headKey(this.#id),
        Body: head,
        ContentLength: head.byteLength,
      }),
    );
  }

  async #recordPart(n: number, etag: string | undefined, size: number): Promise<void> {
    if (!etag) throw new Error(`S3 returned no ETag for part ${n} of "${this.#id}"`);
    const manifest = this.#manifest;
    // Kept listed (spent) until a write starts past them: a cut back to this write's start.
    if (manifest.segs.length > 0) manifest.spent[manifest.parts.length] = manifest.segs;
    manifest.parts.push({ n, etag, size });
    manifest.segs = [];
    manifest.tail = 0;
    const { client, bucket } = this.#place;
    await saveManifest(client, bucket, this.#id, manifest);
    await this.#onPart?.(durable(manifest));
  }
}
