/**
 * Storage staging (issue #9, for S3): the key fixed at creation, and the content checked by
 * the storage as the first bytes stream past instead of read back from the part.
 */
import assert from "node:assert/strict";
import type { CreateOptions, WriteOptions } from "../storage/storage.ts";
import { fileBytes, PNG_HEAD } from "../testing/harness.ts";
import { startNodes } from "../testing/nodes.ts";
import { SNIFF_BYTES } from "./content_check.ts";
import { codeOf } from "./cluster_safety_cases.ts";
import type { Principal } from "./principal.ts";

async function spied() {
  const n = await startNodes(1);
  const storage = n.storage;
  const seen = { creates: [] as [string, CreateOptions | undefined][], heads: [] as number[] };
  const seenWrites: WriteOptions[] = [];
  let readHeads = 0;
  const create = storage.create.bind(storage);
  const write = storage.write.bind(storage);
  const readHead = storage.readHead.bind(storage);
  storage.create = (id, options) => {
    seen.creates.push([id, options]);
    return create(id, options);
  };
  storage.write = (id, body, options) => {
    seenWrites.push(options);
    return write(id, body, options);
  };
  storage.readHead = (id, length) => {
    // The local disk reads a resumed write's earlier bytes itself (none at offset 0).
    if (length > 0) readHeads++;
    return readHead(id, length);
  };
  const service = n.nodes[0]!.service;
  const s = await service.createSession("personal", "web");
  const principal: Principal = { kind: "session", sessionId: s.sessionId };
  return { n, service, principal, seen, seenWrites, readHeads: () => readHeads };
}

async function put(
  t: Awaited<ReturnType<typeof spied>>,
  filename: string,
  filetype: string,
  bytes: Uint8Array<ArrayBuffer>,
) {
  const record = await t.service.createUpload(t.principal, {
    length: bytes.length,
    metadata: { filename, filetype },
    rawMetadata: "",
    concat: { kind: "none" },
  });
  const result = await t.service.patch(t.principal, record.id, new Blob([bytes]).stream(), {
    offset: 0,
    contentLength: bytes.length,
    uploadLength: null,
    checksum: null,
  }).then((r) => ({ record: r, error: null }), (error: unknown) => ({ record: null, error }));
  return { id: record.id, createdAt: record.createdAt, ...result };
}

function dayKey(at: number, id: string, ext: string): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `personal/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${
    pad(d.getUTCDate())
  }/${id}${ext}`;
}

Deno.test("staging - an upload is created under its final key and finishes there", async () => {
  const t = await spied();
  await using _ = t.n;
  const up = await put(t, "photo.jpg", "image/jpeg", fileBytes(10_000));
  assert.equal(up.error, null);
  const key = dayKey(up.createdAt, up.id, ".jpg");
  assert.deepEqual(t.seen.creates, [[up.id, { key }]]);
  assert.equal(up.record?.storageKey, key);
  assert.equal(await t.n.storage.stat(key), 10_000);
  assert.equal(t.seenWrites[0]?.head?.bytes, SNIFF_BYTES);
  assert.equal(t.readHeads(), 0, "the head is checked as it passes, not read back");
});

Deno.test("staging - content of another type finishes under that type's key", async () => {
  const t = await spied();
  await using _ = t.n;
  // A PNG named .jpg: created under .jpg, stored as .png (finalize to another key).
  const up = await put(t, "photo.jpg", "image/jpeg", fileBytes(3000, PNG_HEAD));
  assert.equal(up.error, null);
  assert.deepEqual(t.seen.creates, [[up.id, { key: dayKey(up.createdAt, up.id, ".jpg") }]]);
  assert.equal(up.record?.storageKey, dayKey(up.createdAt, up.id, ".png"));
  assert.equal(t.seenWrites[0]?.head?.bytes, 3000, "a small file's head is all of it");
  assert.equal(t.readHeads(), 0);
});

Deno.test("staging - a head check that says no is today's type rejection", async () => {
  const t = await spied();
  await using _ = t.n;
  const text = new TextEncoder().encode("not an image at all ".repeat(500));
  const up = await put(t, "photo.jpg", "image/jpeg", text);
  assert.equal(codeOf(up.error), "FILE_TYPE_NOT_ALLOWED");
  const stored = await t.n.store.getUpload(up.id);
  assert.equal(stored?.status, "failed");
  assert.equal(stored?.error?.code, "FILE_TYPE_NOT_ALLOWED");
  assert.equal(await t.n.storage.partSize(up.id).catch(() => null), null, "the part is gone");
  assert.equal(t.readHeads(), 0);
});
