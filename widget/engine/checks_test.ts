import assert from "node:assert/strict";
import { accepts, check, formatBytes } from "./checks.ts";

const file = (name: string, type: string, size = 10) =>
  new File([new Uint8Array(size)], name, { type });

Deno.test("checks - accept: MIME patterns, exact types, extensions, case", () => {
  const jpg = file("Photo.JPG", "image/jpeg");
  assert.ok(accepts(jpg, "image/*"));
  assert.ok(accepts(jpg, "video/*, image/jpeg"));
  assert.ok(accepts(jpg, ".png,.jpg"));
  assert.ok(accepts(jpg, ""));
  assert.ok(accepts(jpg, "*/*"));
  assert.ok(!accepts(jpg, "image/png"));
  assert.ok(!accepts(jpg, "video/*,.png"));
  assert.ok(!accepts(file("a.exe", "application/x-msdownload"), "image/*,video/*"));
  assert.ok(accepts(file("clip.mov", "video/quicktime"), ["video/*"]));
});

Deno.test("checks - a type the browser left empty is guessed from the extension", () => {
  assert.ok(accepts(file("IMG_1.HEIC", ""), "image/*"));
  assert.ok(accepts(file("a.jpg", ""), "image/jpeg"));
  assert.ok(accepts(file("b.mov", "application/octet-stream"), "video/quicktime"));
  assert.ok(!accepts(file("notes.txt", ""), "image/*"));
});

Deno.test("checks - each reason with an English message", () => {
  const ctx = { accept: "image/*", maxSize: 1000, maxFiles: 2, count: 0 };
  assert.equal(check(file("a.jpg", "image/jpeg"), ctx), null);
  assert.deepEqual(check(file("a.pdf", "application/pdf"), ctx), {
    name: "a.pdf",
    reason: "type",
    limit: "image/*",
    message: "“a.pdf”: File type not allowed (image/*)",
  });
  assert.equal(check(file("e.jpg", "image/jpeg", 0), ctx)?.reason, "empty");
  const big = check(file("b.jpg", "image/jpeg", 2048), ctx);
  assert.equal(big?.reason, "size");
  assert.equal(big?.limit, "1000 B");
  assert.equal(big?.message, "“b.jpg”: File too large (1000 B)");
  const third = check(file("c.jpg", "image/jpeg"), { ...ctx, count: 2 });
  assert.deepEqual(third?.reason, "count");
  assert.equal(third?.message, "“c.jpg”: Too many files (2)");
});

Deno.test("checks - the session's limits apply once known, the tighter one wins", () => {
  const limits = { maxFileSize: 500, maxFiles: 1, allowedTypes: ["image/*"] };
  assert.equal(check(file("v.mp4", "video/mp4"), { limits, count: 0 })?.reason, "type");
  assert.equal(check(file("a.jpg", "image/jpeg", 600), { limits, count: 0 })?.reason, "size");
  assert.equal(
    check(file("a.jpg", "image/jpeg", 600), { limits, maxSize: 5000, count: 0 })?.reason,
    "size",
  );
  assert.equal(check(file("a.jpg", "image/jpeg"), { limits, count: 1 })?.reason, "count");
  // An unknown type is the server's to judge (it checks the extension and the bytes).
  assert.equal(check(file("blob", ""), { limits, count: 0 }), null);
});

Deno.test("checks - formatBytes", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(20 * 2 ** 20), "20 MB");
  assert.equal(formatBytes(2 * 2 ** 30), "2 GB");
});
