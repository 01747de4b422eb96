/**
 * The state of an unfinished upload in S3, kept as a small JSON object next to its bytes:
 * a multipart upload (parts of exactly PART_SIZE, the last one excepted) plus the bytes after
 * the last part as append-only segment objects (one per write that ended mid-part, < PART_SIZE
 * in all). A PATCH adds a segment without reading any earlier one back: rewriting a whole tail
 * per PATCH moved up to ~10 MiB per 256 KiB PATCH (bench:cluster, issue #9). The manifest is
 * the truth: a part or segment written but not yet in it is as if it was never written.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { isMissing } from "./config.ts";
import { quote } from "../keys.ts";

/** S3's minimum size of every part but the last. */
export const PART_SIZE = 5 * 1024 * 1024;
/** Everything of ours lives under this top folder, which no finished file's key may enter. */
export const RESERVED = ".h5";
const PARTS = `${RESERVED}/parts/`;

export const manifestKey = (id: string) => `${PARTS}${id}.json`;
/** Version 1 kept one rewritten tail object per generation; read, converted, never written. */
export const tailKey = (id: string, gen: number) => `${PARTS}${id}.tail.${gen}`;
/** A segment is named by the offset of its first byte. */
export const segmentKey = (id: string, start: number) => `${PARTS}${id}.seg.${start}`;
/** The first bytes of part 1, kept so `readHead` works once the head is in a stored part. */
export const headKey = (id: string) => `${PARTS}${id}.head`;
/** Where a part created without its final key is staged (and sealed for concatenation). */
export const stagedKey = (id: string) => `${RESERVED}/staged/${id}`;
export const PARTS_PREFIX = PARTS;
export const MANIFEST_SUFFIX = ".json";

export interface StoredPart {
  n: number;
  etag: string;
  size: number;
}

export interface Segment {
  key: string;
  /** Bytes of the object that count (a truncate may keep only a prefix of it). */
  size: number;
}

export interface Manifest {
  /** 2: segments; 1 (read only): `tails`. Nodes older than 2 cannot read a version 2. */
  v: 1 | 2;
  /** The object key the multipart upload completes to. */
  key: string;
  /** True when `key` is the staging key (a finalize to another key copies). */
  staged: boolean;
  uploadId: string;
  parts: StoredPart[];
  /** Durable bytes past the last part: the sum of `segs`' sizes. */
  tail: number;
  /** The bytes past the last part, in order. */
  segs: Segment[];
  /**
   * The segments composed into part `gen + 1`, by `gen`: kept until a write starts past them,
   * so a cut back to an offset reported inside them (this write's start) stays possible.
   */
  spent: Record<string, Segment[]>;
  /** Version 1 only (see tailKey); converted to `segs`/`spent` when read. */
  tails?: Record<string, number>;
  /** Set once the multipart upload was completed into `key` (a concatenation source). */
  sealed?: boolean;
}

export function durable(manifest: Manifest): number {
  return partsEnd(manifest) + manifest.tail;
}

export function partsEnd(manifest: Manifest): number {
  return manifest.parts.reduce((sum, part) => sum + part.size, 0);
}

/**
 * Cuts the manifest back to `length` (see UploadStorage.truncate): a part boundary, or a
 * length inside the segments past the part it keeps (current or spent). Returns the segments
 * no longer listed, to delete once the manifest is saved.
 */
export function cutManifest(id: string, manifest: Manifest, length: number): Segment[] {
  const size = durable(manifest);
  if (!Number.isSafeInteger(length) || length < 0 || length > size) {
    throw new RangeError(`Cannot truncate part ${quote(id)} to ${length}: it holds ${size} bytes`);
  }
  let end = 0;
  let kept = 0;
  for (const part of manifest.parts) {
    if (end + part.size > length) break;
    end += part.size;
    kept++;
  }
  const rest = length - end;
  const before = listed(manifest);
  const source = kept === manifest.parts.length ? manifest.segs : manifest.spent[kept] ?? [];
  const segs: Segment[] = [];
  let at = 0;
  for (const seg of source) {
    if (at >= rest) break;
    const size = Math.min(seg.size, rest - at);
    segs.push({ key: seg.key, size });
    at += size;
  }
  if (at < rest) {
    throw new RangeError(
      `Cannot truncate part ${quote(id)} to ${length}: S3 keeps only offsets it reported ` +
        `durable (a part boundary or a stored segment)`,
    );
  }
  manifest.parts = manifest.parts.slice(0, kept);
  manifest.segs = segs;
  manifest.tail = rest;
  for (const gen of Object.keys(manifest.spent).map(Number)) {
    if (gen >= kept) delete manifest.spent[gen];
  }
  const now = new Set(listed(manifest).map((seg) => seg.key));
  return before.filter((seg) => !now.has(seg.key));
}

/** Every segment object the manifest lists, current and spent. */
export function listed(manifest: Manifest): Segment[] {
  return [...manifest.segs, ...Object.values(manifest.spent).flat()];
}

/** Reads a version 1 manifest as version 2: each generation's tail object is one segment. */
function upgrade(id: string, manifest: Manifest): Manifest {
  if (manifest.segs) return manifest;
  const tails = manifest.tails ?? {};
  const gen = manifest.parts.length;
  // A tail cut to 0 is still an object: listed with no bytes that count, so it is deleted.
  const current = manifest.tail > 0 || tails[gen] !== undefined;
  manifest.segs = current ? [{ key: tailKey(id, gen), size: manifest.tail }] : [];
  manifest.spent = {};
  for (const [g, size] of Object.entries(tails)) {
    if (Number(g) < gen && size > 0) manifest.spent[g] = [{ key: tailKey(id, Number(g)), size }];
  }
  delete manifest.tails;
  manifest.v = 2;
  return manifest;
}

export async function loadManifest(
  client: S3Client,
  bucket: string,
  id: string,
): Promise<Manifest | null> {
  // S3 replaces an object atomically, but s3rver 3.7 writes it in place: a read racing the
  // writer's PUT can see it empty or cut (seen in the storage contract as "Unexpected end of
  // JSON input"). A torn manifest is read again, a few times, before it counts as broken.
  for (let attempt = 1;; attempt++) {
    let text: string;
    try {
      const got = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: manifestKey(id) }),
      );
      text = await got.Body!.transformToString();
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    try {
      return upgrade(id, JSON.parse(text) as Manifest);
    } catch (error) {
      if (attempt >= TORN_READS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}

const TORN_READS = 5;

export async function saveManifest(
  client: S3Client,
  bucket: string,
  id: string,
  manifest: Manifest,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: manifestKey(id),
      Body: JSON.stringify(manifest),
      ContentType: "application/json",
    }),
  );
}
