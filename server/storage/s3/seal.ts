/**
 * Turning an unfinished upload into an object: its multipart upload completed with the tail
 * as the last part (which S3 allows below 5 MiB), or one PutObject when it never filled a
 * part; and the server-side copy when the final key differs from the staged one.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { isMissing } from "./config.ts";
import { durable, type Manifest, saveManifest } from "./manifest.ts";
import { type S3Place, segmentsStream } from "./part_writer.ts";

/** S3's largest single CopyObject and a comfortable part size for copying beyond it. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
const COPY_PART_BYTES = 1024 ** 3;

/** Completes the manifest's upload into `manifest.key`; idempotent (a retry after a crash). */
export async function seal(place: S3Place, id: string, manifest: Manifest): Promise<void> {
  if (manifest.sealed) return;
  const { client, bucket } = place;
  const tail = await readTail(place, id, manifest);
  if (manifest.parts.length === 0) {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: manifest.key,
        Body: tail,
        ContentLength: tail.byteLength,
      }),
    );
    await abort(place, manifest);
  } else {
    const parts: { PartNumber: number; ETag?: string }[] = manifest.parts.map((p) => ({
      PartNumber: p.n,
      ETag: p.etag,
    }));
    try {
      if (tail.byteLength > 0) {
        const n = manifest.parts.length + 1;
        const last = await client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: manifest.key,
            UploadId: manifest.uploadId,
            PartNumber: n,
            Body: tail,
            ContentLength: tail.byteLength,
          }),
        );
        parts.push({ PartNumber: n, ETag: last.ETag });
      }
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: manifest.key,
          UploadId: manifest.uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      // Completed before a crash, the manifest not yet saved: the object is there.
      if (!isMissing(error) || (await objectSize(place, manifest.key)) !== durable(manifest)) {
        throw error;
      }
    }
  }
  manifest.sealed = true;
  await saveManifest(client, bucket, id, manifest);
}

/** Best effort: s3rver has no AbortMultipartUpload; S3 lifecycle rules reap what is left. */
export async function abort(place: S3Place, manifest: Manifest): Promise<void> {
  await place.client.send(
    new AbortMultipartUploadCommand({
      Bucket: place.bucket,
      Key: manifest.key,
      UploadId: manifest.uploadId,
    }),
  ).catch(() => {});
}

export async function objectSize(place: S3Place, key: string): Promise<number | null> {
  try {
    const head = await place.client.send(new HeadObjectCommand({ Bucket: place.bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

export async function deleteObject(place: S3Place, key: string): Promise<void> {
  await place.client.send(new DeleteObjectCommand({ Bucket: place.bucket, Key: key }));
}

/** Server-side copy of a whole object (multipart beyond CopyObject's 5 GiB). */
export async function copyObject(
  place: S3Place,
  from: string,
  to: string,
  size: number,
): Promise<void> {
  const { client, bucket } = place;
  const source = `${bucket}/${from.split("/").map(encodeURIComponent).join("/")}`;
  if (size <= MAX_COPY_BYTES) {
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: source }));
    return;
  }
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: to }));
  const parts = [];
  for (let start = 0, n = 1; start < size; start += COPY_PART_BYTES, n++) {
    const end = Math.min(size, start + COPY_PART_BYTES) - 1;
    const part = await client.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: to,
        UploadId: created.UploadId,
        PartNumber: n,
        CopySource: source,
        CopySourceRange: `bytes=${start}-${end}`,
      }),
    );
    parts.push({ PartNumber: n, ETag: part.CopyPartResult?.ETag });
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: to,
      UploadId: created.UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/** The segments composed (< 5 MiB), in memory: they are sent as one request body. */
async function readTail(place: S3Place, id: string, manifest: Manifest): Promise<Uint8Array> {
  const body = segmentsStream(place, manifest.segs, manifest.tail);
  const bytes = new Uint8Array(await new Response(body).arrayBuffer());
  if (bytes.byteLength !== manifest.tail) {
    throw new Error(`Cannot read the tail of part "${id}": ${bytes.byteLength} bytes`);
  }
  return bytes;
}
