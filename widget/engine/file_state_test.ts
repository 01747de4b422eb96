import assert from "node:assert/strict";
import { advance, createEntry, toSnapshot, totals } from "./file_state.ts";

const entry = (size = 1000) =>
  createEntry("id1", {
    file: new File([new Uint8Array(size)], "a.jpg"),
    name: "a.jpg",
    size,
    type: "",
  });

Deno.test("file state - progress never goes backwards, whatever the source says", () => {
  const e = entry();
  assert.ok(advance(e, 300, 0, 0)); // XHR: 300 sent
  assert.equal(e.progress, 0.3);
  assert.ok(advance(e, 0, 200, 10)); // socket: 200 confirmed
  assert.equal(e.sent, 300);
  assert.equal(e.confirmed, 200);
  assert.equal(e.progress, 0.3, "max(sent, confirmed)");
  assert.ok(!advance(e, 100, 150, 20), "lower values change nothing");
  assert.equal(e.progress, 0.3);
  advance(e, 0, 600, 30); // HEAD/PATCH answer
  assert.equal(e.sent, 600, "confirmed bytes were sent");
  assert.equal(e.progress, 0.6);
  advance(e, 5000, 5000, 40);
  assert.equal(e.sent, 1000, "clamped to the size");
  assert.equal(e.progress, 1);
});

Deno.test("file state - snapshots are new objects with the contract's fields", () => {
  const e = entry();
  const a = toSnapshot(e);
  assert.equal(a.status, "queued");
  assert.equal(a.eta, null);
  assert.equal(a.remote, false);
  advance(e, 500, 0, 0);
  e.status = "uploading";
  const b = toSnapshot(e);
  assert.notEqual(a, b);
  assert.equal(a.bytesSent, 0, "the old snapshot is untouched");
  assert.equal(b.bytesSent, 500);
  assert.equal(b.speed, 0);
});

Deno.test("file state - totals skip cancelled files and count completed ones whole", () => {
  const files = [
    { size: 1000, progress: 0.5, status: "uploading", speed: 100 },
    { size: 500, progress: 0.2, status: "completed", speed: 0 },
    { size: 9999, progress: 0.9, status: "cancelled", speed: 0 },
  ].map((f) => ({ ...toSnapshot(entry(f.size)), ...f })) as Parameters<typeof totals>[0];
  const t = totals(files);
  assert.equal(t.bytes, 1500);
  assert.equal(t.done, 1000);
  assert.equal(t.progress, 1000 / 1500);
  assert.equal(t.speed, 100);
  assert.equal(t.eta, 5);
  assert.deepEqual(totals([]), { bytes: 0, done: 0, progress: 0, speed: 0, eta: null });
});

Deno.test("file state - a refused file is expected and stores nothing; retryable failures keep bytes", () => {
  const files = [
    { size: 1000, progress: 1, status: "completed", speed: 0, canRetry: false },
    { size: 4000, progress: 1, status: "failed", speed: 0, canRetry: false },
    { size: 1000, progress: 0.5, status: "failed", speed: 0, canRetry: true },
  ].map((f) => ({ ...toSnapshot(entry(f.size)), ...f })) as Parameters<typeof totals>[0];
  const t = totals(files);
  // As the server's totalProgress (issue #7, item 15): never 100 % with a refused file.
  assert.equal(t.bytes, 6000);
  assert.equal(t.done, 1500);
});
