import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ChecksumAlgorithm } from "../../protocol/tus.ts";
import type { UploadStorage, WriteOptions, WriteResult } from "./storage.ts";
import { runBufferContract } from "./buffer_contract.ts";

type Made = {
  storage: UploadStorage;
  cleanup: () => Promise<void>;
  /** Another instance on the same backend (another node): must see every durable byte. */
  reopen?: () => UploadStorage;
};

const KEY = "personal/2026/11/28/up1.jpg";
const MiB = 1024 * 1024;

/** Registers the behaviour every UploadStorage must share; each case gets a fresh storage. */
export function runStorageContract(name: string, make: () => Promise<Made>): void {
  const test = (
    condition: string,
    fn: (storage: UploadStorage, reopen: () => UploadStorage) => Promise<void>,
  ) =>
    Deno.test(`UploadStorage ${name} - ${condition}`, async () => {
      const { storage, cleanup, reopen } = await make();
      try {
        await fn(storage, reopen ?? (() => storage));
      } finally {
        await cleanup();
      }
    });
  runStagingContract(test);
  runBufferContract(test);

  /**
   * Both kinds of body: a byte stream with a declared length (a Deno.serve request body,
   * read with a BYOB reader) and a plain stream of unknown length.
   */
  const paths = [
    { path: "byte stream", bytes: true, expected: (n: number): number | undefined => n },
    { path: "plain stream", bytes: false, expected: (_n: number): number | undefined => undefined },
  ];

  test("create, write, finalize and read round-trip the bytes", async (storage) => {
    const data = randomBytes(3 * MiB + 17);
    await storage.create("up1");
    const result = await storage.write("up1", chunked(data, 100_000), options(0, data, true));
    assert.deepEqual(result, { offset: data.length, bytes: data.length, stop: "end" });
    await storage.finalize("up1", KEY);
    assert.equal(await storage.stat(KEY), data.length);
    const { body, size } = await storage.read(KEY);
    assert.equal(size, data.length);
    assert.equal(await sha256(await collect(body)), await sha256(data));
    assert.deepEqual(await storage.listParts(), []);
  });

  test("create fails when the part exists", async (storage) => {
    await storage.create("up1");
    await assert.rejects(storage.create("up1"));
  });

  test("writing to a missing part fails", async (storage) => {
    await assert.rejects(storage.write("nope", chunked(bytes(10), 4), options(0, bytes(10))));
  });

  for (const { path, bytes, expected } of paths) {
    const body = (data: Uint8Array, size: number) => chunked(data, size, bytes);
    test(`${path}: writes at the end append`, async (storage) => {
      const a = randomBytes(70_000);
      const b = randomBytes(50_000);
      await storage.create("up1");
      await storage.write("up1", body(a, 8192), {
        offset: 0,
        maxBytes: MiB,
        expectedBytes: expected(a.length),
      });
      const second = await storage.write("up1", body(b, 8192), {
        offset: a.length,
        maxBytes: MiB,
        expectedBytes: expected(b.length),
      });
      assert.deepEqual(second, { offset: a.length + b.length, bytes: b.length, stop: "end" });
      assert.deepEqual(await storage.readHead("up1", MiB), concat(a, b));
    });

    test(`${path}: an offset below the part's size drops the tail first`, async (storage) => {
      const a = randomBytes(1000);
      const b = randomBytes(10);
      await storage.create("up1");
      await storage.write("up1", body(a, 300), {
        offset: 0,
        maxBytes: MiB,
        expectedBytes: expected(a.length),
      });
      const result = await storage.write("up1", body(b, 4), {
        offset: 500,
        maxBytes: MiB,
        expectedBytes: expected(b.length),
      });
      assert.deepEqual(result, { offset: 510, bytes: 10, stop: "end" });
      assert.equal(await storage.partSize("up1"), 510);
      assert.deepEqual(await storage.readHead("up1", MiB), concat(a.subarray(0, 500), b));
    });

    test(`${path}: an aborted write keeps every byte that arrived`, async (storage) => {
      const controller = new AbortController();
      const chunks = [randomBytes(40_000), randomBytes(40_000), randomBytes(123)];
      // The pull after the last chunk proves the writer consumed them all: abort right there.
      const body = scripted(chunks, () => controller.abort());
      await storage.create("up1");
      const result = await storage.write("up1", body, {
        offset: 0,
        maxBytes: MiB,
        expectedBytes: expected(MiB),
        signal: controller.signal,
      });
      const all = concat(...chunks);
      assert.deepEqual(result, { offset: all.length, bytes: all.length, stop: "aborted" });
      assert.deepEqual(await storage.readHead("up1", MiB), all);
    });

    test(`${path}: an erroring body reports interrupted and keeps the earlier bytes`, async (storage) => {
      const chunks = [randomBytes(30_000), randomBytes(5)];
      const body = scripted(chunks, (controller) => controller.error(new Error("client gone")));
      await storage.create("up1");
      const prefix = randomBytes(100);
      await storage.write("up1", chunked(prefix, 100, bytes), options(0, prefix, true));
      const result = await storage.write("up1", body, {
        offset: 100,
        maxBytes: MiB,
        expectedBytes: expected(MiB),
      });
      const all = concat(prefix, ...chunks);
      assert.deepEqual(result, {
        offset: all.length,
        bytes: all.length - 100,
        stop: "interrupted",
      });
      assert.deepEqual(await storage.readHead("up1", MiB), all);
    });

    test(`${path}: checkpoints are durable, rising and never past the final offset`, async (storage) => {
      const seen: number[] = [];
      const sizesAtReport: number[] = [];
      const firstCheckpoint = deferred();
      await storage.create("up1");
      const onCheckpoint = async (offset: number) => {
        seen.push(offset);
        sizesAtReport.push(await storage.partSize("up1"));
        firstCheckpoint.resolve();
      };
      const total = 32 * MiB;
      const chunkSize = 256 * 1024;
      // Halfway the body waits for a checkpoint, so at least one happens without sleeping.
      const body = generated(
        total,
        chunkSize,
        (index) => index === 64 ? firstCheckpoint.promise : null,
      );
      const result = await storage.write("up1", body, {
        offset: 0,
        maxBytes: total,
        expectedBytes: expected(total),
        onCheckpoint,
        checkpointIntervalMs: 1,
      });
      assert.deepEqual(result, { offset: total, bytes: total, stop: "end" });
      assert.ok(seen.length >= 1, "at least one checkpoint");
      for (const [i, offset] of seen.entries()) {
        assert.ok(offset > 0 && offset <= result.offset, `checkpoint ${offset} within the write`);
        if (i > 0) assert.ok(offset > seen[i - 1]!, `checkpoints rise: ${seen.join(", ")}`);
        assert.ok(sizesAtReport[i]! >= offset, "a reported offset is already in the part");
      }
    });
  }

  test("maxBytes keeps exactly the cap and reports limit", async (storage) => {
    const data = randomBytes(10_000);
    const cases: { name: string; extra: Partial<WriteOptions> }[] = [
      { name: "unknown length", extra: {} },
      { name: "checksum", extra: { checksum: "sha256" } },
      // A body longer than its declared length: the HTTP layer prevents it, storage must too.
      { name: "declared length lies", extra: { expectedBytes: 3000 } },
    ];
    for (const [i, { name, extra }] of cases.entries()) {
      const id = `cap-${i}`;
      await storage.create(id);
      const result = await storage.write(id, chunked(data, 1024), {
        offset: 0,
        maxBytes: 3000,
        ...extra,
      });
      assert.equal(result.stop, "limit", name);
      assert.equal(result.offset, 3000, name);
      assert.equal(result.bytes, 3000, name);
      assert.equal(await storage.partSize(id), 3000, name);
      assert.deepEqual(await storage.readHead(id, MiB), data.subarray(0, 3000), name);
    }
  });

  test("a body of exactly maxBytes ends normally", async (storage) => {
    const data = randomBytes(4096);
    await storage.create("up1");
    const result = await storage.write("up1", chunked(data, 1024), { offset: 0, maxBytes: 4096 });
    assert.deepEqual(result, { offset: 4096, bytes: 4096, stop: "end" });
  });

  test("byte-stream and plain-stream bodies store identical bytes", async (storage) => {
    const data = randomBytes(2 * MiB + 3);
    await storage.create("fast");
    await storage.create("slow");
    const fast = await storage.write("fast", chunked(data, 65_536, true), options(0, data, true));
    const slow = await storage.write("slow", chunked(data, 65_536), options(0, data, false));
    assert.deepEqual(fast, slow);
    assert.deepEqual(
      await storage.readHead("fast", 4 * MiB),
      await storage.readHead("slow", 4 * MiB),
    );
    assert.equal(await sha256(await storage.readHead("fast", 4 * MiB)), await sha256(data));
  });

  test("checksum digests match sha256, sha1 and md5 of the bytes", async (storage) => {
    const data = randomBytes(300_000);
    const expectedDigests: Record<ChecksumAlgorithm, Uint8Array> = {
      sha256: await webDigest("SHA-256", data),
      sha1: await webDigest("SHA-1", data),
      md5: new Uint8Array(createHash("md5").update(data).digest()),
    };
    for (const [algorithm, digest] of Object.entries(expectedDigests)) {
      const id = `sum-${algorithm}`;
      await storage.create(id);
      const onCheckpoint = () => assert.fail("a checksummed write never checkpoints");
      const result: WriteResult = await storage.write(id, chunked(data, 7000), {
        offset: 0,
        maxBytes: MiB,
        expectedBytes: data.length,
        checksum: algorithm as ChecksumAlgorithm,
        onCheckpoint,
        checkpointIntervalMs: 1,
      });
      assert.equal(result.stop, "end");
      assert.deepEqual(result.digest, digest, algorithm);
      assert.deepEqual(await storage.readHead(id, MiB), data);
    }
  });

  test("readHead returns at most the bytes present", async (storage) => {
    const data = randomBytes(1000);
    await storage.create("up1");
    assert.equal((await storage.readHead("up1", 10)).length, 0);
    await storage.write("up1", chunked(data, 333), options(0, data, true));
    assert.deepEqual(await storage.readHead("up1", 10), data.subarray(0, 10));
    assert.deepEqual(await storage.readHead("up1", 5000), data);
    assert.equal((await storage.readHead("up1", 0)).length, 0);
  });

  test("truncate and partSize", async (storage) => {
    const data = randomBytes(1000);
    await storage.create("up1");
    await storage.write("up1", chunked(data, 1000), options(0, data, true));
    await storage.truncate("up1", 400);
    assert.equal(await storage.partSize("up1"), 400);
    assert.deepEqual(await storage.readHead("up1", MiB), data.subarray(0, 400));
    await assert.rejects(storage.truncate("missing", 0));
    await assert.rejects(storage.partSize("missing"));
  });

  test("range reads stream exactly the asked bytes", async (storage) => {
    const data = randomBytes(200_000);
    await storage.create("up1");
    await storage.write("up1", chunked(data, 50_000), options(0, data, true));
    await storage.finalize("up1", KEY);
    for (
      const [start, end] of [[0, 0], [1000, 150_000], [199_999, 199_999], [0, 199_999]] as const
    ) {
      const { body, size } = await storage.read(KEY, { start, end });
      assert.equal(size, end - start + 1);
      assert.deepEqual(await collect(body), data.subarray(start, end + 1), `${start}-${end}`);
    }
    await assert.rejects(storage.read(KEY, { start: 10, end: 200_000 }));
    await assert.rejects(storage.read(KEY, { start: 10, end: 9 }));
    // A reader that stops early must not leave the file open (the resource sanitizer checks).
    const { body } = await storage.read(KEY, { start: 0, end: 199_999 });
    await body.cancel();
  });

  test("concat appends whole parts in order", async (storage) => {
    const parts = [randomBytes(100_000), randomBytes(1), randomBytes(0), randomBytes(70_000)];
    for (const [i, data] of parts.entries()) {
      await storage.create(`p${i}`);
      await storage.write(`p${i}`, chunked(data, 30_000), options(0, data, true));
    }
    await storage.create("final");
    await storage.concat("final", ["p3", "p0", "p1", "p2"]);
    const expected = concat(parts[3]!, parts[0]!, parts[1]!, parts[2]!);
    assert.equal(await storage.partSize("final"), expected.length);
    assert.deepEqual(await storage.readHead("final", MiB), expected);
  });

  test("removal is idempotent", async (storage) => {
    const data = randomBytes(10);
    await storage.create("up1");
    await storage.write("up1", chunked(data, 10), options(0, data, true));
    await storage.finalize("up1", KEY);
    await storage.create("up2");
    await storage.removePart("up2");
    await storage.removePart("up2");
    await storage.removePart("never");
    await assert.rejects(storage.partSize("up2"));
    await storage.removeFile(KEY);
    await storage.removeFile(KEY);
    await storage.removeFile("personal/never.jpg");
    assert.equal(await storage.stat(KEY), null);
    await assert.rejects(storage.read(KEY));
  });

  test("listParts lists the parts and not the finished files", async (storage) => {
    assert.deepEqual(await storage.listParts(), []);
    for (const id of ["b", "a", "c-1"]) await storage.create(id);
    assert.deepEqual((await storage.listParts()).sort(), ["a", "b", "c-1"]);
    await storage.finalize("b", "personal/b.jpg");
    await storage.removePart("a");
    assert.deepEqual(await storage.listParts(), ["c-1"]);
  });

  test("unsafe ids and keys are rejected, naming the action and the value", async (storage) => {
    await storage.create("ok");
    const badIds = ["../x", "a/b", "", ".", "..", "x".repeat(65), "a\\b", "-lead", "a\0b"];
    const badKeys = [
      "../../etc/passwd",
      "/abs",
      "a//b",
      "a\\b",
      "",
      "a/../../b",
      "a/./b",
      "a/",
      "a\0b",
    ];
    const rejects = async (attempt: () => Promise<unknown>, value: string) => {
      await assert.rejects(attempt, (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /^Cannot \w+/);
        assert.ok(error.message.includes(JSON.stringify(value)), error.message);
        return true;
      });
    };
    for (const id of badIds) {
      await rejects(() => storage.create(id), id);
      await rejects(() => storage.write(id, chunked(bytes(3), 3), options(0, bytes(3), true)), id);
      await rejects(() => storage.truncate(id, 0), id);
      await rejects(() => storage.partSize(id), id);
      await rejects(() => storage.readHead(id, 1), id);
      await rejects(() => storage.concat(id, ["ok"]), id);
      await rejects(() => storage.concat("ok", [id]), id);
      await rejects(() => storage.finalize(id, KEY), id);
      await rejects(() => storage.removePart(id), id);
    }
    for (const key of badKeys) {
      await rejects(() => storage.finalize("ok", key), key);
      await rejects(() => storage.read(key), key);
      await rejects(() => storage.stat(key), key);
      await rejects(() => storage.removeFile(key), key);
    }
    assert.deepEqual(await storage.listParts(), ["ok"]);
    assert.equal(await storage.partSize("ok"), 0);
  });
}

// ---------------------------------------------------------------------------------------
// staging: what a storage without rename, truncate or read-back (S3) must also honour

type Register = (
  condition: string,
  fn: (storage: UploadStorage, reopen: () => UploadStorage) => Promise<void>,
) => void;

function runStagingContract(test: Register): void {
  test("a key fixed at creation finalizes there, and another key still works", async (storage) => {
    const data = randomBytes(6 * MiB + 5);
    await storage.create("up1", { key: KEY });
    await storage.write("up1", chunked(data, 256 * 1024), options(0, data, true));
    await storage.finalize("up1", KEY);
    assert.equal(await sha256(await collect((await storage.read(KEY)).body)), await sha256(data));
    const other = "personal/2026/11/29/up2.png";
    await storage.create("up2", { key: "personal/2026/11/29/up2.jpg" });
    await storage.write("up2", chunked(data, 256 * 1024), options(0, data, true));
    await storage.finalize("up2", other);
    assert.equal(await sha256(await collect((await storage.read(other)).body)), await sha256(data));
    assert.equal(await storage.stat("personal/2026/11/29/up2.jpg"), null);
    assert.deepEqual(await storage.listParts(), []);
    await assert.rejects(storage.create("up3", { key: "../escape.jpg" }), /unsafe key/);
  });

  test("the head check sees the part's first bytes as they pass, once", async (storage) => {
    const data = randomBytes(10_000);
    const seen: Uint8Array[] = [];
    const head = (ok: boolean) => ({
      bytes: 4100,
      check: (bytes: Uint8Array) => (seen.push(bytes.slice()), ok),
    });
    await storage.create("up1");
    // The head spans two writes: the second one completes it and checks it.
    const first = await storage.write("up1", chunked(data.subarray(0, 1000), 300), {
      ...options(0, data.subarray(0, 1000), true),
      head: head(true),
    });
    assert.equal(first.stop, "end");
    assert.equal(seen.length, 0, "not called before the head is complete");
    const second = await storage.write("up1", chunked(data.subarray(1000), 700), {
      ...options(1000, data.subarray(1000), true),
      head: head(true),
    });
    assert.deepEqual(second, { offset: 10_000, bytes: 9000, stop: "end" });
    assert.deepEqual(seen, [data.subarray(0, 4100)]);
    // Past the head: no check at all.
    const more = randomBytes(10);
    await storage.write("up1", chunked(more, 10), { ...options(10_000, more), head: head(false) });
    assert.equal(seen.length, 1);

    await storage.create("bad");
    const rejected = await storage.write("bad", chunked(data, 1024), {
      ...options(0, data, true),
      head: head(false),
    });
    assert.equal(rejected.stop, "rejected");
    assert.ok(rejected.offset >= 4100 && rejected.offset < data.length, `${rejected.offset}`);
    assert.equal(await storage.partSize("bad"), rejected.offset);
  });

  test("sizes around the 5 MiB part boundary round-trip by sha256", async (storage) => {
    for (const size of [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 12 * MiB]) {
      const data = randomBytes(size);
      const id = `s${size}`;
      const key = `personal/2026/11/28/${id}.bin`;
      await storage.create(id, { key });
      // Two calls, cut mid-part, as a resumed upload arrives.
      const cut = Math.floor(size / 3);
      const a = await storage.write(id, chunked(data.subarray(0, cut), 100_000), options(0, data));
      assert.equal(a.offset, cut);
      const rest = data.subarray(cut);
      const b = await storage.write(id, chunked(rest, 100_000, true), options(cut, rest, true));
      assert.deepEqual(b, { offset: size, bytes: size - cut, stop: "end" }, `size ${size}`);
      assert.equal(await storage.partSize(id), size);
      await storage.finalize(id, key);
      assert.equal(await storage.stat(key), size);
      const read = await collect((await storage.read(key)).body);
      assert.equal(await sha256(read), await sha256(data), `size ${size}`);
    }
    assert.deepEqual(await storage.listParts(), []);
  });

  test("concat of parts across 5 MiB boundaries keeps every byte in order", async (storage) => {
    const sizes = [6 * MiB + 1, 2 * MiB, 7 * MiB, 0, 5 * MiB, 3];
    const parts = sizes.map((n) => randomBytes(n));
    for (const [i, data] of parts.entries()) {
      await storage.create(`p${i}`);
      await storage.write(`p${i}`, chunked(data, 512 * 1024), options(0, data, true));
    }
    await storage.create("final", { key: KEY });
    await storage.concat("final", parts.map((_, i) => `p${i}`));
    const all = concat(...parts);
    assert.equal(await storage.partSize("final"), all.length);
    assert.deepEqual(await storage.readHead("final", 4100), all.subarray(0, 4100));
    await storage.finalize("final", KEY);
    assert.equal(await sha256(await collect((await storage.read(KEY)).body)), await sha256(all));
    for (const i of parts.keys()) await storage.removePart(`p${i}`);
    assert.deepEqual(await storage.listParts(), []);
  });

  test(
    "a cut body keeps every reported byte, and another instance resumes from it",
    async (storage, reopen) => {
      const data = randomBytes(13 * MiB + 321);
      const cutAt = 11 * MiB + 7;
      const reported: number[] = [];
      let at = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= cutAt) return controller.error(new Error("client gone"));
          const n = Math.min(256 * 1024, cutAt - at);
          controller.enqueue(data.slice(at, at + n));
          at += n;
        },
      }, { highWaterMark: 0 });
      await storage.create("up1", { key: KEY });
      const result = await storage.write("up1", body, {
        offset: 0,
        maxBytes: data.length,
        expectedBytes: data.length,
        onCheckpoint: (offset) => void reported.push(offset),
        checkpointIntervalMs: 1,
      });
      assert.equal(result.stop, "interrupted");
      assert.ok(reported.length > 0, "at least one checkpoint");
      assert.ok(reported.every((r) => r <= result.offset), reported.join(", "));
      assert.ok(result.offset <= cutAt);
      const other = reopen();
      assert.equal(await other.partSize("up1"), result.offset);
      // The state may have committed only the last checkpoint: the other node cuts back there.
      const committed = reported.at(-1)!;
      await other.truncate("up1", committed);
      assert.equal(await other.partSize("up1"), committed);
      const rest = data.subarray(committed);
      const resumed = await other.write("up1", chunked(rest, 64 * 1024, true), {
        ...options(committed, rest, true),
      });
      assert.deepEqual(resumed, { offset: data.length, bytes: rest.length, stop: "end" });
      await other.finalize("up1", KEY);
      assert.equal(await sha256(await collect((await storage.read(KEY)).body)), await sha256(data));
    },
  );

  test("truncate reaches back to every offset the storage reported since the last write began", async (storage) => {
    const data = randomBytes(14 * MiB + 11);
    await storage.create("up1");
    const first = await storage.write(
      "up1",
      chunked(data.subarray(0, 3 * MiB + 1), 100_000),
      options(0, data.subarray(0, 3 * MiB + 1)),
    );
    const reported: number[] = [];
    const second = data.subarray(first.offset, 13 * MiB);
    const end = await storage.write("up1", chunked(second, 100_000, true), {
      ...options(first.offset, second, true),
      onCheckpoint: (offset) => void reported.push(offset),
      checkpointIntervalMs: 1,
    });
    assert.equal(end.offset, 13 * MiB);
    // Deepest first: each cut is from whatever the previous one left.
    const targets = [...new Set([end.offset, ...reported, first.offset])].sort((a, b) => b - a);
    for (const length of targets) {
      await storage.truncate("up1", length);
      assert.equal(await storage.partSize("up1"), length, `cut to ${length}`);
    }
    const rest = data.subarray(first.offset);
    await storage.write("up1", chunked(rest, 77_777), options(first.offset, rest));
    await storage.finalize("up1", KEY);
    assert.equal(await sha256(await collect((await storage.read(KEY)).body)), await sha256(data));
    await storage.create("up2");
    await storage.write("up2", chunked(data, 1 << 20), options(0, data));
    await storage.truncate("up2", 0);
    assert.equal(await storage.partSize("up2"), 0);
  });
}

// ---------------------------------------------------------------------------------------
// bodies and bytes

function options(offset: number, data: Uint8Array, declared = false): WriteOptions {
  return { offset, maxBytes: 64 * MiB, expectedBytes: declared ? data.length : undefined };
}

/**
 * The data in chunks of `size`, handed out only when asked (pull), like a socket; with
 * `bytes`, a byte stream that also serves BYOB reads, like a Deno.serve request body.
 */
function chunked(data: Uint8Array, size: number, bytes = false): ReadableStream<Uint8Array> {
  let at = 0;
  if (bytes) {
    return new ReadableStream({
      type: "bytes",
      pull(controller) {
        if (at >= data.length) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        controller.enqueue(data.slice(at, at + size));
        at += size;
      },
    });
  }
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.slice(at, at + size));
      at += size;
    },
  }, { highWaterMark: 0 });
}

/**
 * Hands out `chunks`, then on the next pull calls `after` and never ends by itself. With a
 * zero high-water mark that pull only happens once the consumer has taken every chunk.
 */
function scripted(
  chunks: Uint8Array[],
  after: (controller: ReadableStreamDefaultController<Uint8Array>) => void,
): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk) return controller.enqueue(chunk);
      after(controller);
    },
  }, { highWaterMark: 0 });
}

/** `total` bytes made chunk by chunk; `gate(index)` may hold a chunk back until it resolves. */
function generated(
  total: number,
  chunkSize: number,
  gate: (index: number) => Promise<void> | null,
): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const at = index * chunkSize;
      if (at >= total) return controller.close();
      await gate(index);
      controller.enqueue(new Uint8Array(Math.min(chunkSize, total - at)).fill(index & 0xff));
      index++;
    },
  }, { highWaterMark: 0 });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return concat(...chunks);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function bytes(n: number): Uint8Array {
  return new Uint8Array(n).fill(7);
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < n; at += 65_536) crypto.getRandomValues(out.subarray(at, at + 65_536));
  return out;
}

async function webDigest(algorithm: string, data: Uint8Array): Promise<Uint8Array> {
  // WebCrypto takes only ArrayBuffer-backed views, hence the copy.
  return new Uint8Array(await crypto.subtle.digest(algorithm, new Uint8Array(data)));
}

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await webDigest("SHA-256", data);
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
