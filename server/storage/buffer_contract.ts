/**
 * What every UploadStorage holds in memory for one write's body (issue #9: two fixed 512 KiB
 * read buffers per PATCH in flight were most of the real-time bench's peak RSS): a slow body
 * in small pieces keeps only small buffers, a fast one may grow them, never past a part.
 */
import assert from "node:assert/strict";
import type { UploadStorage, WriteOptions } from "./storage.ts";
import { MIN_READ_BUFFER_BYTES } from "./read_buffers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** The largest part an S3 storage holds (local disk stops at 512 KiB). */
const PART_BYTES = 5 * MiB;

type Register = (
  condition: string,
  fn: (storage: UploadStorage) => Promise<void>,
) => void;

export function runBufferContract(test: Register): void {
  test("a slow body in small paced pieces holds only small buffers", async (storage) => {
    // 16 x 4 KiB, one piece per timer tick: a phone on a slow link.
    const sizes: number[] = [];
    await storage.create("up1");
    const result = await storage.write("up1", paced(16, 4 * KiB, 20), {
      ...writeOptions(64 * KiB),
      onReadBuffer: (bytes) => sizes.push(bytes),
    });
    assert.equal(result.bytes, 64 * KiB);
    assert.ok(sizes.length > 0, "the write reports the buffers it allocates");
    assert.ok(
      sizes.every((n) => n <= MIN_READ_BUFFER_BYTES),
      `buffers of ${sizes.join(", ")} bytes`,
    );
  });

  test("a fast body grows the buffers, never past a part", async (storage) => {
    const total = 12 * MiB;
    const sizes: number[] = [];
    await storage.create("up1");
    const result = await storage.write("up1", fast(total, MiB), {
      ...writeOptions(total),
      onReadBuffer: (bytes) => sizes.push(bytes),
    });
    assert.equal(result.bytes, total);
    const largest = Math.max(...sizes);
    assert.ok(largest > MIN_READ_BUFFER_BYTES, `buffers of ${sizes.join(", ")} bytes`);
    assert.ok(largest <= PART_BYTES, `buffers of ${sizes.join(", ")} bytes`);
    // Grown by doubling and then reused: a handful of allocations, not one per read.
    assert.ok(sizes.length <= 20, `${sizes.length} allocations`);
  });
}

function writeOptions(expected: number): WriteOptions {
  return { offset: 0, maxBytes: 64 * MiB, expectedBytes: expected };
}

/** `count` pieces of `size`, each `everyMs` after the previous was asked for (a byte stream). */
export function paced(count: number, size: number, everyMs: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      if (sent >= count) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      // The pace is the scenario under test (a slow client), not a synchronisation.
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      controller.enqueue(new Uint8Array(size).fill(sent++ & 0xff));
    },
  });
}

/** `total` bytes in pieces of `size`, each handed out at once (a byte stream). */
export function fast(total: number, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (at >= total) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const n = Math.min(size, total - at);
      controller.enqueue(new Uint8Array(n).fill((at / size) & 0xff));
      at += n;
    },
  });
}
