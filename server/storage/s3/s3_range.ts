/**
 * Streamed reads of stored objects: a byte range of one object, and the segments past the
 * last part (manifest.ts) as one stream, one segment at a time.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Segment } from "./manifest.ts";

export interface S3Place {
  client: S3Client;
  bucket: string;
}

/**
 * Bytes [start, start + size) of an object, streamed, exactly `size` of them: s3rver 3.7
 * answers `bytes=0-0` with the whole object, so the reply is cut to what was asked.
 */
export async function getRange(
  place: S3Place,
  key: string,
  start: number,
  size: number,
): Promise<ReadableStream<Uint8Array>> {
  if (size === 0) return new ReadableStream({ start: (c) => c.close() });
  const got = await place.client.send(
    new GetObjectCommand({
      Bucket: place.bucket,
      Key: key,
      Range: `bytes=${start}-${start + size - 1}`,
    }),
  );
  const source = (got.Body!.transformToWebStream() as ReadableStream<Uint8Array>).getReader();
  let left = size;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await source.read();
      if (done || !value) {
        // Ending quietly would hand the caller fewer bytes than it counts on.
        controller.error(new Error(`Cannot read ${JSON.stringify(key)}: ${left} bytes short`));
        return;
      }
      const chunk = value.byteLength <= left ? value : value.subarray(0, left);
      left -= chunk.byteLength;
      controller.enqueue(chunk);
      if (left === 0) {
        controller.close();
        await source.cancel().catch(() => {});
      }
    },
    async cancel(reason) {
      await source.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/** The first `size` bytes of the segments, in order, streamed one segment at a time. */
export function segmentsStream(
  place: S3Place,
  segs: Segment[],
  size: number,
): ReadableStream<Uint8Array> {
  let index = 0;
  let left = size;
  let current: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!current) {
          const seg = segs[index++];
          if (left === 0 || !seg) {
            if (left > 0) controller.error(new Error(`Cannot read segments: ${left} bytes short`));
            else controller.close();
            return;
          }
          const take = Math.min(seg.size, left);
          left -= take;
          current = (await getRange(place, seg.key, 0, take)).getReader();
        }
        const { value, done } = await current.read();
        if (done) {
          current = null;
          continue;
        }
        controller.enqueue(value);
        return;
      }
    },
    async cancel(reason) {
      await current?.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
