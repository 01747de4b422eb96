import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Scope } from "../../../tests/support/scope.ts";
import { startS3rver } from "../../../tests/support/services.ts";
import { within } from "../../../tests/support/deadline.ts";
import { runStorageContract } from "../storage_contract.ts";
import { makeS3Client, type S3StorageConfig } from "./config.ts";
import { S3Storage } from "./s3_storage.ts";

// One s3rver child for the file, a fresh bucket per case: starting a child per case would
// cost a second each. Started outside any test, so no test's sanitizer counts it.
const scope = new Scope();
const s3rver = await startS3rver(scope);
globalThis.addEventListener("unload", () => {
  s3rver.kill();
  try {
    Deno.removeSync(s3rver.dir, { recursive: true });
  } catch { /* best effort */ }
});

let buckets = 0;
const MiB = 1024 * 1024;

function configFor(bucket: string): S3StorageConfig {
  return {
    endpoint: s3rver.url,
    bucket,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
  };
}

async function freshStorage() {
  const config = configFor(`contract-${Deno.pid}-${++buckets}`);
  const clients: S3Client[] = [];
  const open = () => {
    const client = makeS3Client(config);
    clients.push(client);
    return new S3Storage(config, client);
  };
  const storage = open();
  await storage.ensureBucket();
  // A second start on an existing bucket is a no-op.
  await storage.ensureBucket();
  return {
    storage,
    reopen: open,
    config,
    client: clients[0]!,
    cleanup: () => {
      for (const client of clients) client.destroy();
      return Promise.resolve();
    },
  };
}

// First, so the heap that the other cases leave behind does not hide the growth.
Deno.test("S3Storage - a 64 MiB write keeps memory bounded", async () => {
  const { storage, cleanup } = await freshStorage();
  try {
    // Chunks are views of one random pool, so the body itself makes no garbage to measure.
    const chunk = 256 * 1024;
    const pool = random(4 * MiB + chunk);
    const body = (total: number, hash: ReturnType<typeof createHash>) => {
      let made = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (made >= total) return controller.close();
          const at = ((made / chunk) * 7 * chunk) % (4 * MiB);
          const view = pool.subarray(at, at + Math.min(chunk, total - made));
          hash.update(view);
          made += view.length;
          controller.enqueue(view);
        },
      }, { highWaterMark: 0 });
    };
    // A first write loads and warms the SDK's code paths, which is not what is measured.
    await storage.create("warm");
    await storage.write("warm", body(11 * MiB, createHash("sha256")), {
      offset: 0,
      maxBytes: 11 * MiB,
    });
    const total = 64 * MiB;
    await storage.create("big");
    const hash = createHash("sha256");
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const sample = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
    let result;
    try {
      result = await storage.write("big", body(total, hash), { offset: 0, maxBytes: total });
    } finally {
      clearInterval(sample);
    }
    peak = Math.max(peak, Deno.memoryUsage().rss);
    const growth = (peak - before) / MiB;
    console.log(`64 MiB write through S3 after warm-up: RSS growth ${growth.toFixed(1)} MiB`);
    assert.equal(result.offset, total);
    await storage.finalize("big", "personal/2026/12/01/big.bin");
    const read = (await storage.read("personal/2026/12/01/big.bin")).body;
    const check = createHash("sha256");
    for await (const chunk of read) check.update(chunk);
    assert.equal(check.digest("hex"), hash.digest("hex"));
    // Holding the body would add 64 MiB; one part buffer is 5 MiB.
    assert.ok(growth < 48, `RSS grew ${growth.toFixed(1)} MiB`);
  } finally {
    await cleanup();
  }
});

runStorageContract("S3Storage (s3rver)", freshStorage);

Deno.test("S3Storage - every stored object reads back with its source's sha256", async () => {
  const { storage, client, config, cleanup } = await freshStorage();
  try {
    const sources = new Map<string, string>();
    for (const size of [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 12 * MiB]) {
      const data = random(size);
      const key = `personal/2026/12/01/f${size}.bin`;
      // Half staged under the final key, half moved there by a copy.
      await storage.create(`f${size}`, size % 2 ? { key } : {});
      await storage.write(`f${size}`, stream(data, 300_000), { offset: 0, maxBytes: size });
      await storage.finalize(`f${size}`, key);
      sources.set(key, sha256(data));
    }
    const listed = await client.send(new ListObjectsV2Command({ Bucket: config.bucket }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
    assert.deepEqual(keys, [...sources.keys()].sort(), "no staging object is left behind");
    for (const key of keys) {
      const got = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      const bytes = await got.Body!.transformToByteArray();
      assert.equal(sha256(bytes), sources.get(key), key);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("S3Storage - truncate refuses an offset it never reported inside a stored part", async () => {
  const { storage, cleanup } = await freshStorage();
  try {
    await storage.create("up1");
    const data = random(7 * MiB);
    await storage.write("up1", stream(data, MiB), { offset: 0, maxBytes: data.length });
    await assert.rejects(storage.truncate("up1", 4 * MiB), /reported durable/);
    assert.equal(await storage.partSize("up1"), 7 * MiB);
    await storage.truncate("up1", 5 * MiB);
    assert.equal(await storage.partSize("up1"), 5 * MiB);
    assert.deepEqual(await storage.readHead("up1", 4100), data.subarray(0, 4100));
    await assert.rejects(storage.readHead("up1", 65 * 1024), /64 KiB/);
  } finally {
    await cleanup();
  }
});

Deno.test("S3Storage - small PATCHes read nothing back until a part is composed, then at most the part once", async () => {
  const { config, cleanup } = await freshStorage();
  const client = makeS3Client(config);
  // Bytes of every stored upload object (not the manifest) read back through this client.
  let readBack = 0;
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  (client as unknown as { send: typeof send }).send = async (command) => {
    const out = await send(command);
    if (command instanceof GetObjectCommand && !command.input.Key!.endsWith(".json")) {
      readBack += (out as { ContentLength?: number }).ContentLength ?? 0;
    }
    return out;
  };
  const storage = new S3Storage(config, client);
  try {
    const patch = 256 * 1024;
    const data = random(21 * patch);
    const checkpoints: number[] = [];
    await storage.create("phone");
    for (let i = 0; i < 21; i++) {
      const bytes = data.subarray(i * patch, (i + 1) * patch);
      const result = await storage.write("phone", stream(bytes, 64 * 1024), {
        offset: i * patch,
        maxBytes: patch,
        onCheckpoint: (offset) => void checkpoints.push(offset),
      });
      assert.equal(result.offset, (i + 1) * patch);
      if (i < 19) assert.equal(readBack, 0, `PATCH ${i + 1} read ${readBack} bytes back`);
    }
    // The 20th PATCH completes the first part: the 19 earlier ones are read back once.
    assert.deepEqual(checkpoints, [5 * MiB]);
    assert.ok(readBack <= 5 * MiB, `${readBack} bytes read back for one 5 MiB part`);
    assert.equal(readBack, 19 * patch);
    const key = "personal/2026/12/01/phone.bin";
    await storage.finalize("phone", key);
    const got = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
    assert.equal(sha256(await got.Body!.transformToByteArray()), sha256(data));
    const listed = await client.send(new ListObjectsV2Command({ Bucket: config.bucket }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key), [key], "no segment left behind");
  } finally {
    client.destroy();
    await cleanup();
  }
});

Deno.test("S3Storage - a version 1 manifest (one tail object per generation) is read as segments", async () => {
  const { storage, client, config, cleanup } = await freshStorage();
  try {
    await storage.create("old");
    const manifestKey = ".h5/parts/old.json";
    const got = await client.send(
      new GetObjectCommand({ Bucket: config.bucket, Key: manifestKey }),
    );
    const fresh = JSON.parse(await got.Body!.transformToString());
    // As version 1 left it after a cut from 500 to 300 bytes: the tail object holds more.
    const stored = random(500);
    await client.send(
      new PutObjectCommand({ Bucket: config.bucket, Key: ".h5/parts/old.tail.0", Body: stored }),
    );
    const v1 = { v: 1, key: fresh.key, staged: true, uploadId: fresh.uploadId, parts: [] };
    await client.send(
      new PutObjectCommand({
        Bucket: config.bucket,
        Key: manifestKey,
        Body: JSON.stringify({ ...v1, tail: 300, tails: { 0: 500 } }),
      }),
    );
    assert.equal(await storage.partSize("old"), 300);
    assert.deepEqual(await storage.readHead("old", 4100), stored.subarray(0, 300));
    const more = random(6 * MiB);
    const result = await storage.write("old", stream(more, MiB), {
      offset: 300,
      maxBytes: more.length,
    });
    assert.equal(result.offset, 300 + more.length);
    const key = "personal/2026/12/01/old.bin";
    await storage.finalize("old", key);
    const back = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
    const all = new Uint8Array(300 + more.length);
    all.set(stored.subarray(0, 300));
    all.set(more, 300);
    assert.equal(sha256(await back.Body!.transformToByteArray()), sha256(all));
    const listed = await client.send(new ListObjectsV2Command({ Bucket: config.bucket }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key), [key], "the tail object is gone");
    // Cut back to 0: the tail object holds no byte that counts and is deleted all the same.
    await storage.create("zero");
    const zero = JSON.parse(
      await (await client.send(
        new GetObjectCommand({ Bucket: config.bucket, Key: ".h5/parts/zero.json" }),
      )).Body!.transformToString(),
    );
    await client.send(
      new PutObjectCommand({ Bucket: config.bucket, Key: ".h5/parts/zero.tail.0", Body: stored }),
    );
    await client.send(
      new PutObjectCommand({
        Bucket: config.bucket,
        Key: ".h5/parts/zero.json",
        Body: JSON.stringify({
          ...v1,
          key: zero.key,
          uploadId: zero.uploadId,
          tail: 0,
          tails: { 0: 500 },
        }),
      }),
    );
    assert.equal(await storage.partSize("zero"), 0);
    await storage.write("zero", stream(more, MiB), { offset: 0, maxBytes: more.length });
    await storage.finalize("zero", "personal/2026/12/01/zero.bin");
    const zeroBack = await client.send(
      new GetObjectCommand({ Bucket: config.bucket, Key: "personal/2026/12/01/zero.bin" }),
    );
    assert.equal(sha256(await zeroBack.Body!.transformToByteArray()), sha256(more));
    const left = await client.send(
      new ListObjectsV2Command({ Bucket: config.bucket, Prefix: ".h5/" }),
    );
    assert.deepEqual((left.Contents ?? []).map((o) => o.Key), [], "no v1 object left");
  } finally {
    await cleanup();
  }
});

Deno.test("S3Storage - a body that stalls mid-way ends as interrupted after the idle timeout, its bytes kept", async () => {
  const { config, cleanup } = await freshStorage();
  const client = makeS3Client(config);
  try {
    // Slowloris on S3: without the idle watch this write would wait for ever.
    const storage = new S3Storage({ ...config, idleTimeoutMs: 200 }, client);
    await storage.create("up1");
    const data = random(6 * MiB + 1000);
    let sent = false;
    const stalled = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) controller.enqueue(data);
        sent = true; // then never again, and never closed
      },
    }, { highWaterMark: 0 });
    const result = await within(
      storage.write("up1", stalled, { offset: 0, maxBytes: 10 * MiB }),
      "the stalled write to end",
      10_000,
    );
    assert.deepEqual(result, { offset: data.length, bytes: data.length, stop: "interrupted" });
    assert.equal(await storage.partSize("up1"), data.length);
    // And it resumes where it stopped.
    const rest = random(1000);
    await storage.write("up1", stream(rest, 500), { offset: data.length, maxBytes: 1000 });
    await storage.finalize("up1", "personal/2026/12/02/up1.bin");
    const read = await storage.read("personal/2026/12/02/up1.bin");
    const back = new Uint8Array(await new Response(read.body).arrayBuffer());
    assert.equal(sha256(back), sha256(new Uint8Array([...data, ...rest])));
  } finally {
    client.destroy();
    await cleanup();
  }
});

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65_536) crypto.getRandomValues(out.subarray(at, at + 65_536));
  return out;
}

function stream(data: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.slice(at, at + size));
      at += size;
    },
  }, { highWaterMark: 0 });
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
