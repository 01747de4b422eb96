/**
 * The state of an unfinished upload in S3, kept as a small JSON object next to its bytes:
 * a multipart upload (parts of exactly PART_SIZE, the last one excepted) plus a tail object
 * per "generation" (the bytes after the first `gen` parts, < PART_SIZE). The manifest is the
 * truth: a part or tail written but not yet in it is as if it was never written.
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
export const tailKey = (id: string, gen: number) => `${PARTS}${id}.tail.${gen}`;
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

export interface Manifest {
  v: 1;
  /** The object key the multipart upload completes to. */
  key: string;
  /** True when `key` is the staging key (a finalize to another key copies). */
  staged: boolean;
  uploadId: string;
  parts: StoredPart[];
  /** Durable bytes in the tail of generation `parts.length`. */
  tail: number;
  /**
   * Size of each tail object stored, by generation. An older generation's tail is kept until
   * a write starts past it, so a cut back to an offset reported inside it stays possible.
   */
  tails: Record<string, number>;
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
 * length inside a generation whose tail object still holds the bytes. Returns the
 * generations whose tail objects are now stale.
 */
export function cutManifest(id: string, manifest: Manifest, length: number): number[] {
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
  if (rest > 0 && (manifest.tails[kept] ?? 0) < rest) {
    throw new RangeError(
      `Cannot truncate part ${quote(id)} to ${length}: S3 keeps only offsets it reported ` +
        `durable (a part boundary or a stored tail)`,
    );
  }
  manifest.parts = manifest.parts.slice(0, kept);
  manifest.tail = rest;
  const stale = Object.keys(manifest.tails).map(Number).filter((gen) => gen > kept);
  for (const gen of stale) delete manifest.tails[gen];
  return stale;
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
      return JSON.parse(text) as Manifest;
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
