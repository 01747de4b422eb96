/**
 * UploadStorage on S3-compatible object storage. An unfinished upload is a multipart upload
 * (on its final key when `create` was given it, else on `.h5/staged/<id>`) plus, under
 * `.h5/parts/`, a manifest `<id>.json`, segment objects `<id>.seg.<offset>` and `<id>.head`
 * (manifest.ts). A finished file is the object at its key: S3 shows a multipart upload's
 * object only once it is completed, so no partial file is ever visible as finished.
 */
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  type CreateOptions,
  isValidUploadId,
  type ReadResult,
  type UploadStorage,
  type WriteOptions,
  type WriteResult,
} from "../storage.ts";
import { MAX_HEAD_BYTES } from "../head_tap.ts";
import { keyProblem, quote } from "../keys.ts";
import { ensureBucket, isMissing, makeS3Client, type S3StorageConfig } from "./config.ts";
import {
  cutManifest,
  durable,
  headKey,
  listed,
  loadManifest,
  type Manifest,
  MANIFEST_SUFFIX,
  manifestKey,
  PARTS_PREFIX,
  RESERVED,
  saveManifest,
  type Segment,
  stagedKey,
} from "./manifest.ts";
import { getRange, PartWriter, type S3Place, segmentsStream } from "./part_writer.ts";
import { abort, copyObject, deleteObject, objectSize, seal } from "./seal.ts";
import { s3Write } from "./s3_write.ts";
import { concatInto } from "./s3_concat.ts";

export class S3Storage implements UploadStorage {
  readonly #place: S3Place;
  readonly #idleTimeoutMs: number | undefined;

  constructor(config: S3StorageConfig, client: S3Client = makeS3Client(config)) {
    this.#place = { client, bucket: config.bucket };
    this.#idleTimeoutMs = config.idleTimeoutMs;
  }

  /** Closes the client's kept-alive connections (at shutdown). */
  close(): void {
    this.#place.client.destroy();
  }

  /** Creates the bucket when it does not exist; call once at start. */
  async ensureBucket(): Promise<void> {
    await ensureBucket(this.#place.client, this.#place.bucket);
  }

  async create(id: string, options: CreateOptions = {}): Promise<void> {
    this.#checkId(id, "create part");
    const key = options.key === undefined
      ? stagedKey(id)
      : this.#checkKey(options.key, "create part for");
    if (await loadManifest(this.#place.client, this.#place.bucket, id)) {
      throw new Error(`Cannot create part ${quote(id)}: it exists`);
    }
    const created = await this.#place.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.#place.bucket, Key: key }),
    );
    if (!created.UploadId) throw new Error(`Cannot create part ${quote(id)}: no upload id`);
    await this.#save(id, {
      v: 2,
      key,
      staged: options.key === undefined,
      uploadId: created.UploadId,
      parts: [],
      tail: 0,
      segs: [],
      spent: {},
    });
  }

  async write(
    id: string,
    body: ReadableStream<Uint8Array>,
    options: WriteOptions,
  ): Promise<WriteResult> {
    try {
      this.#checkId(id, "write part");
      const { offset, maxBytes } = options;
      if (
        !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(maxBytes) ||
        maxBytes < 0
      ) {
        throw new RangeError(
          `Cannot write part ${
            quote(id)
          }: offset ${offset} and maxBytes ${maxBytes} must be whole numbers >= 0`,
        );
      }
      const manifest = await this.#manifest(id, "write part");
      if (manifest.sealed) throw new Error(`Cannot write part ${quote(id)}: it is sealed`);
      const size = durable(manifest);
      if (offset > size) {
        throw new Error(
          `Cannot write part ${quote(id)}: offset ${offset} is past its end (${size})`,
        );
      }
      const stale = offset < size ? cutManifest(id, manifest, offset) : [];
      // The caller committed `offset`: segments composed into parts can no longer be cut to.
      const spent = Object.values(manifest.spent).flat();
      manifest.spent = {};
      stale.push(...spent);
      if (stale.length > 0 || offset < size) await this.#save(id, manifest);
      await this.#dropSegments(stale);
      const onPart = options.checksum === undefined ? options.onCheckpoint : undefined;
      const writer = await PartWriter.open(
        this.#place,
        id,
        manifest,
        onPart,
        options.onReadBuffer,
      );
      return await s3Write(writer, body, options, this.#idleTimeoutMs);
    } catch (error) {
      if (!body.locked) body.cancel(error).catch(() => {});
      throw error;
    }
  }

  async truncate(id: string, length: number): Promise<void> {
    this.#checkId(id, "truncate part");
    const manifest = await this.#manifest(id, "truncate part");
    if (manifest.sealed) throw new Error(`Cannot truncate part ${quote(id)}: it is sealed`);
    if (length === durable(manifest)) return;
    const stale = cutManifest(id, manifest, length);
    await this.#save(id, manifest);
    await this.#dropSegments(stale);
  }

  async partSize(id: string): Promise<number> {
    this.#checkId(id, "stat part");
    return durable(await this.#manifest(id, "stat part"));
  }

  async readHead(id: string, length: number): Promise<Uint8Array> {
    this.#checkId(id, "read part");
    const manifest = await this.#manifest(id, "read part");
    const size = Math.max(0, Math.min(length, durable(manifest)));
    let body: ReadableStream<Uint8Array>;
    if (manifest.sealed) body = await getRange(this.#place, manifest.key, 0, size);
    else if (manifest.parts.length === 0) body = segmentsStream(this.#place, manifest.segs, size);
    else {
      if (size > MAX_HEAD_BYTES) {
        throw new RangeError(`Cannot read part ${quote(id)}: S3 keeps only its first 64 KiB`);
      }
      body = await getRange(this.#place, headKey(id), 0, size);
    }
    return new Uint8Array(await new Response(body).arrayBuffer());
  }

  async concat(id: string, sourceIds: string[]): Promise<void> {
    this.#checkId(id, "concat into part");
    for (const source of sourceIds) this.#checkId(source, "concat part");
    if (sourceIds.includes(id)) {
      throw new Error(`Cannot concat into part ${quote(id)}: it is one of its own sources`);
    }
    const target = await this.#manifest(id, "concat into part");
    const sources: { key: string; size: number }[] = [];
    for (const source of sourceIds) {
      const manifest = await this.#manifest(source, "concat part");
      // Sealing a part under its final key would show it as a finished file.
      if (!manifest.staged) {
        throw new Error(`Cannot concat part ${quote(source)}: it was created with a final key`);
      }
      await seal(this.#place, source, manifest);
      sources.push({ key: manifest.key, size: durable(manifest) });
    }
    await concatInto(this.#place, id, target, sources);
  }

  async finalize(id: string, key: string): Promise<void> {
    this.#checkId(id, "finalize part");
    this.#checkKey(key, "finalize to file");
    const manifest = await this.#manifest(id, "finalize part");
    await seal(this.#place, id, manifest);
    if (manifest.key !== key) await copyObject(this.#place, manifest.key, key, durable(manifest));
    // The manifest goes first: from then on the part is gone and the file is at `key`.
    await deleteObject(this.#place, manifestKey(id));
    if (manifest.key !== key) await deleteObject(this.#place, manifest.key);
    await this.#dropLeftovers(id, manifest);
  }

  async read(key: string, range?: { start: number; end: number }): Promise<ReadResult> {
    this.#checkKey(key, "read file");
    const size = await objectSize(this.#place, key);
    if (size === null) throw new Deno.errors.NotFound(`Cannot read file ${quote(key)}: not found`);
    if (range === undefined) {
      const got = await this.#place.client.send(
        new GetObjectCommand({ Bucket: this.#place.bucket, Key: key }),
      );
      return { body: got.Body!.transformToWebStream() as ReadableStream<Uint8Array>, size };
    }
    const { start, end } = range;
    if (
      !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start ||
      end >= size
    ) {
      throw new RangeError(
        `Cannot read file ${quote(key)}: range ${start}-${end} is outside 0-${size - 1}`,
      );
    }
    return {
      body: await getRange(this.#place, key, start, end - start + 1),
      size: end - start + 1,
    };
  }

  async stat(key: string): Promise<number | null> {
    this.#checkKey(key, "stat file");
    return await objectSize(this.#place, key);
  }

  async removePart(id: string): Promise<void> {
    this.#checkId(id, "remove part");
    const manifest = await loadManifest(this.#place.client, this.#place.bucket, id);
    if (!manifest) return;
    if (!manifest.sealed) await abort(this.#place, manifest);
    else if (manifest.staged) await deleteObject(this.#place, manifest.key);
    await this.#dropLeftovers(id, manifest);
    // Last, so a removal cut short is still listed and retried.
    await deleteObject(this.#place, manifestKey(id));
  }

  async removeFile(key: string): Promise<void> {
    this.#checkKey(key, "remove file");
    await deleteObject(this.#place, key);
  }

  async listParts(): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#place.client.send(
        new ListObjectsV2Command({
          Bucket: this.#place.bucket,
          Prefix: PARTS_PREFIX,
          ContinuationToken: token,
        }),
      );
      for (const { Key } of page.Contents ?? []) {
        if (!Key?.endsWith(MANIFEST_SUFFIX)) continue;
        const id = Key.slice(PARTS_PREFIX.length, -MANIFEST_SUFFIX.length);
        if (isValidUploadId(id)) ids.push(id);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return ids.sort();
  }

  async #manifest(id: string, action: string): Promise<Manifest> {
    const manifest = await loadManifest(this.#place.client, this.#place.bucket, id);
    if (!manifest) throw new Deno.errors.NotFound(`Cannot ${action} ${quote(id)}: no such part`);
    return manifest;
  }

  async #save(id: string, manifest: Manifest): Promise<void> {
    await saveManifest(this.#place.client, this.#place.bucket, id, manifest);
  }

  async #dropSegments(segs: Segment[]): Promise<void> {
    for (const seg of new Set(segs.map((s) => s.key))) await deleteObject(this.#place, seg);
  }

  async #dropLeftovers(id: string, manifest: Manifest): Promise<void> {
    await this.#dropSegments(listed(manifest));
    await deleteObject(this.#place, headKey(id)).catch((error) => {
      if (!isMissing(error)) throw error;
    });
  }

  #checkId(id: string, action: string): void {
    if (!isValidUploadId(id)) throw new Error(`Cannot ${action} ${quote(id)}: invalid upload id`);
  }

  #checkKey(key: string, action: string): string {
    const problem = keyProblem(key, RESERVED);
    if (problem !== null) {
      throw new Error(`Cannot ${action} ${quote(key)}: unsafe key (${problem})`);
    }
    return key;
  }
}
