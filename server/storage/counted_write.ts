/**
 * The PATCH write path: a request body counted into an open part file, with durable
 * checkpoints synced in the background while the next bytes arrive.
 */
import { createHash } from "node:crypto";
import type { WriteOptions, WriteResult, WriteStop } from "./storage.ts";
import { BackgroundSync } from "./background_sync.ts";
import type { HeadTap } from "./head_tap.ts";
import { ReadBuffers } from "./read_buffers.ts";
import { BodyWatch } from "./body_watch.ts";

const DEFAULT_CHECKPOINT_MS = 250;

/**
 * Reads the body into one reused buffer (BYOB) when it is a byte stream, as a Deno.serve
 * request body is, and writes each read before taking the next. Measured here against
 * `body.pipeTo(file.writable)`: faster (fewer, larger writes, no per-chunk allocation) and
 * bounded in memory (pipeTo let 16 concurrent uploads buffer 400+ MB; this stays under 100).
 */
export async function countedWrite(
  file: Deno.FsFile,
  syncer: Deno.FsFile,
  body: ReadableStream<Uint8Array>,
  options: WriteOptions,
  idleTimeoutMs?: number,
  head: HeadTap | null = null,
): Promise<WriteResult> {
  const start = options.offset;
  const hash = options.checksum === undefined ? null : createHash(options.checksum);
  const watch = new BodyWatch(options, idleTimeoutMs);
  const failed = watch.failed;
  const background = new BackgroundSync(syncer, start, { onError: (e) => failed.abort(e) });
  // A checksummed write is all or nothing: committing a prefix before the digest is known
  // would store bytes the client may be about to disown.
  const checkpoints = hash
    ? null
    : startCheckpoints(background, options, start + options.maxBytes, failed);
  const byob = byobReader(body);
  const reader = byob ?? body.getReader();
  // Two buffers: the socket fills one while the disk takes the other (measured: reading and
  // writing in turn left a single upload at 0.77 of a bare pipe), grown only for a fast body.
  const buffers = byob ? new ReadBuffers(options.onReadBuffer) : null;
  watch.attach(reader);
  let scheduled = 0;
  let pending: Promise<void> | null = null;
  let stop: WriteStop | null = null;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        if (byob && buffers) {
          // Always the whole buffer (see ReadBuffers.view). Bytes past the room are not stored.
          next = await byob.read(buffers.view());
        } else {
          next = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
        }
      } catch {
        stop = "interrupted";
        break;
      }
      watch.touch();
      if (next.done || !next.value) {
        stop = watch.endStop();
        break;
      }
      const chunk = watch.clip(next.value, scheduled);
      hash?.update(chunk);
      // Writes stay in order: the previous one ends before the next starts, and its buffer
      // becomes the next read's.
      if (pending) await pending;
      const end = start + scheduled + chunk.byteLength;
      pending = writeAll(file, chunk).then(() => background.written(end));
      // Marked handled now; awaited (and so rethrown) before the next write or at the end.
      pending.catch(() => {});
      scheduled += chunk.byteLength;
      buffers?.returned(next.value);
      stop = await watch.afterChunk(head, chunk, next.value);
      if (stop) break;
    }
    if (pending) await pending;
  } catch (error) {
    stop = null;
    throw error;
  } finally {
    // Only a disk error leaves the loop without a stop.
    await watch.dispose(stop);
    if (pending) await pending.catch(() => {});
    reader.releaseLock();
    await checkpoints?.stop();
  }
  await background.flush();
  const result: WriteResult = { offset: start + scheduled, bytes: scheduled, stop };
  if (hash) result.digest = new Uint8Array(hash.digest());
  return result;
}

function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | null {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return null; // not a byte stream
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) done += await file.write(bytes.subarray(done));
}

// ---------------------------------------------------------------------------------------
// write: periodic durable checkpoints

interface Checkpoints {
  /** Waits for a running checkpoint; rethrows the first checkpoint failure. */
  stop(): Promise<void>;
}

/**
 * Every `checkpointIntervalMs`: report the offset the background syncs made durable, or, when
 * none advanced it since the last report (a slow body), sync now and report that, so every
 * reported byte was on disk before a sync ended. A chain of timeouts (not an interval) keeps
 * two checkpoints from ever overlapping. A failure aborts the write through `failed`.
 */
function startCheckpoints(
  sync: BackgroundSync,
  options: WriteOptions,
  cap: number,
  failed: AbortController,
): Checkpoints | null {
  const onCheckpoint = options.onCheckpoint;
  if (!onCheckpoint) return null;
  const interval = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_MS;
  let reported = options.offset;
  let stopped = false;
  let running: Promise<void> | null = null;
  let failure: { error: unknown } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const tick = async () => {
    try {
      const durable = sync.durable > reported ? sync.durable : await sync.flush();
      // Clamped so a report never exceeds the final offset, even if the cap truncates.
      const size = Math.min(durable, cap);
      if (size <= reported) return;
      reported = size;
      await onCheckpoint(size);
    } catch (error) {
      failure ??= { error };
      failed.abort(error);
    }
  };
  const schedule = () => {
    timer = setTimeout(() => {
      running = tick().then(() => {
        running = null;
        if (!stopped && !failure) schedule();
      });
    }, interval);
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (failure) throw failure.error;
    },
  };
}
