import assert from "node:assert/strict";
import {
  GROW_RATE_BYTES_PER_MS,
  MAX_READ_BUFFER_BYTES,
  MIN_READ_BUFFER_BYTES,
  ReadBuffers,
} from "./read_buffers.ts";

/** Drives the buffers like countedWrite: view, read (`fill` bytes after `ms`), returned. */
function driver() {
  const clock = { now: 0 };
  const sizes: number[] = [];
  const buffers = new ReadBuffers((n) => sizes.push(n), () => clock.now);
  const read = (ms: number, fill: (size: number) => number = (size) => size) => {
    const view = buffers.view();
    clock.now += ms;
    // A BYOB read returns a view on the same memory, its buffer transferred.
    const length = fill(view.byteLength);
    const copy = new Uint8Array(view.buffer.transfer(), 0, length);
    buffers.returned(copy);
  };
  return { buffers, sizes, read };
}

/** The time a full read of the current size takes at `factor` times the growth rate. */
const at = (size: number, factor: number) => size / GROW_RATE_BYTES_PER_MS / factor;

Deno.test("ReadBuffers - full reads at a slow pace never grow the buffers", () => {
  const { buffers, sizes, read } = driver();
  for (let i = 0; i < 100; i++) read(at(MIN_READ_BUFFER_BYTES, 0.5));
  assert.equal(buffers.size, MIN_READ_BUFFER_BYTES);
  // Two buffers, reused turn about.
  assert.deepEqual(sizes, [MIN_READ_BUFFER_BYTES, MIN_READ_BUFFER_BYTES]);
});

Deno.test("ReadBuffers - fast reads that do not fill the buffer never grow it", () => {
  const { buffers, sizes, read } = driver();
  for (let i = 0; i < 100; i++) read(0, (size) => size - 1);
  assert.equal(buffers.size, MIN_READ_BUFFER_BYTES);
  assert.equal(sizes.length, 2);
});

Deno.test("ReadBuffers - one fast full read among slow ones does not grow them", () => {
  const { buffers, read } = driver();
  for (let i = 0; i < 50; i++) read(i % 2 ? 0 : at(MIN_READ_BUFFER_BYTES, 0.5));
  assert.equal(buffers.size, MIN_READ_BUFFER_BYTES);
});

Deno.test("ReadBuffers - a fast body doubles them up to the cap, then reuses two", () => {
  const { buffers, sizes, read } = driver();
  for (let i = 0; i < 100; i++) read(at(buffers.size, 2));
  assert.equal(buffers.size, MAX_READ_BUFFER_BYTES);
  const K = 1024;
  assert.deepEqual(sizes, [64, 64, 128, 128, 256, 256, 512, 512].map((n) => n * K));
});

Deno.test("ReadBuffers - fast full reads between fast short ones still grow them", () => {
  // A read returns at most one frame of the HTTP engine: frames of 1.5 buffers come back as a
  // full read and a short one, in turn.
  const { buffers, read } = driver();
  for (let i = 0; i < 100; i++) {
    read(at(buffers.size, 2), i % 2 ? (size) => size / 2 : undefined);
  }
  assert.equal(buffers.size, MAX_READ_BUFFER_BYTES);
});
