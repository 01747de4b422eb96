/**
 * tus concatenation on S3: the final's parts built from sealed partial objects. A stretch of
 * at least one part that starts at a part boundary is a server-side UploadPartCopy (no bytes
 * through this node); the rest is streamed through the part buffer. Servers without
 * UploadPartCopy (s3rver 3.7 answers NotImplemented) get the streamed copy throughout.
 */
import { httpStatus } from "./config.ts";
import { type Manifest, PART_SIZE } from "./manifest.ts";
import { getRange, PartWriter, type S3Place } from "./part_writer.ts";

/** Largest part copied in one request (S3 allows 5 GiB). */
const COPY_PART_BYTES = 1024 ** 3;

/** Whether the server lacks UploadPartCopy, learnt once per client. */
const noPartCopy = new WeakSet<object>();

export async function concatInto(
  place: S3Place,
  id: string,
  target: Manifest,
  sources: { key: string; size: number }[],
): Promise<void> {
  const writer = await PartWriter.open(place, id, target);
  for (const source of sources) {
    let at = 0;
    const stream = async (size: number) => {
      for await (const chunk of await getRange(place, source.key, at, size)) {
        await writer.append(chunk);
      }
      at += size;
    };
    // Fill the buffer to a part boundary first: a copied part must start at one.
    if (!writer.empty) await stream(Math.min(source.size, PART_SIZE - writer.buffered));
    while (source.size - at >= PART_SIZE && !noPartCopy.has(place.client)) {
      const size = Math.min(source.size - at, COPY_PART_BYTES);
      try {
        await writer.appendCopy(source.key, at, size);
        at += size;
      } catch (error) {
        if (!isNotImplemented(error)) throw error;
        noPartCopy.add(place.client);
      }
    }
    if (at < source.size) await stream(source.size - at);
  }
  await writer.finish();
}

function isNotImplemented(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === "NotImplemented" || httpStatus(error) === 501;
}
