/**
 * The PATCH write path on S3: a request body read chunk by chunk into a PartWriter (one
 * 5 MiB part in memory at most), with the same stops as on local disk (end, aborted,
 * interrupted, limit, rejected) and the checkpoints at each stored part.
 */
import { createHash } from "node:crypto";
import type { WriteOptions, WriteResult, WriteStop } from "../storage.ts";
import { idleWatch } from "../counted_write.ts";
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
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  const reader = body.getReader();
  const onAbort = () => reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) onAbort();
  const idle = idleTimeoutMs ? idleWatch(idleTimeoutMs, () => failed.abort("idle")) : null;
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
      idle?.touch();
      if (next.done || !next.value) {
        stop = options.signal?.aborted ? "aborted" : signal.aborted ? "interrupted" : "end";
        break;
      }
      const room = options.maxBytes - taken;
      const chunk = next.value.byteLength <= room ? next.value : next.value.subarray(0, room);
      hash?.update(chunk);
      await writer.append(chunk);
      taken += chunk.byteLength;
      if (head && !(await head.feed(chunk))) {
        stop = "rejected";
        await reader.cancel("content type not allowed").catch(() => {});
        break;
      }
      if (chunk !== next.value) {
        stop = "limit";
        await reader.cancel("upload size limit reached").catch(() => {});
        break;
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    idle?.stop();
    // Only a storage error leaves the loop without a stop; the body must not hang then either.
    if (stop === null) await reader.cancel("storage write failed").catch(() => {});
    reader.releaseLock();
  }
  // Whatever arrived is kept, as on disk: a cut body resumes from here.
  await writer.finish();
  const result: WriteResult = { offset: writer.durable, bytes: taken, stop };
  if (hash) result.digest = new Uint8Array(hash.digest());
  return result;
}
