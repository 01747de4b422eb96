/**
 * The PATCH write path on S3: a request body read chunk by chunk into a PartWriter (one
 * 5 MiB part in memory at most), with the same stops as on local disk (end, aborted,
 * interrupted, limit, rejected) and the checkpoints at each stored part.
 */
import { createHash } from "node:crypto";
import type { WriteOptions, WriteResult, WriteStop } from "../storage.ts";
import { BodyWatch } from "../body_watch.ts";
import { HeadTap } from "../head_tap.ts";
import type { PartWriter } from "./part_writer.ts";

export async function s3Write(
  writer: PartWriter,
  body: ReadableStream<Uint8Array>,
  options: WriteOptions,
  idleTimeoutMs?: number,
): Promise<WriteResult> {
  const start = writer.offset;
  const hash = options.checksum === undefined ? null : createHash(options.checksum);
  // Only a head check still short of its bytes reads earlier ones back (64 KiB at most).
  const pending = options.head !== undefined && start < options.head.bytes;
  const head = HeadTap.start(options.head, start, pending ? await writer.prefix(start) : null);
  const watch = new BodyWatch(options, idleTimeoutMs);
  const reader = body.getReader();
  watch.attach(reader);
  let taken = 0;
  let stop: WriteStop | null = null;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch {
        stop = "interrupted";
        break;
      }
      watch.touch();
      if (next.done || !next.value) {
        stop = watch.endStop();
        break;
      }
      const chunk = watch.clip(next.value, taken);
      hash?.update(chunk);
      await writer.append(chunk);
      taken += chunk.byteLength;
      stop = await watch.afterChunk(head, chunk, next.value);
      if (stop) break;
    }
  } finally {
    // Only a storage error leaves the loop without a stop.
    await watch.dispose(stop);
    reader.releaseLock();
  }
  // Whatever arrived is kept, as on disk: a cut body resumes from here.
  await writer.finish();
  const result: WriteResult = { offset: writer.durable, bytes: taken, stop };
  if (hash) result.digest = new Uint8Array(hash.digest());
  return result;
}
