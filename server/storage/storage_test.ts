import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalDiskStorage } from "./local_disk.ts";
import { runStorageContract } from "./storage_contract.ts";
import { paced } from "./buffer_contract.ts";
import { MIN_READ_BUFFER_BYTES } from "./read_buffers.ts";

runStorageContract("LocalDiskStorage", async () => {
  const root = await Deno.makeTempDir({ prefix: "local_disk_" });
  return {
    storage: new LocalDiskStorage(root),
    cleanup: () => Deno.remove(root, { recursive: true }),
    reopen: () => new LocalDiskStorage(root),
  };
});

Deno.test("LocalDiskStorage - rejected ids and keys create nothing outside the root", async () => {
  // The root sits one level down so anything escaping it lands where we can see it.
  const outer = await Deno.makeTempDir({ prefix: "local_disk_outer_" });
  try {
    const root = join(outer, "root");
    const storage = new LocalDiskStorage(root);
    await storage.create("ok");
    for (const id of ["../x", "a/b", "..", "../../escape"]) {
      await assert.rejects(storage.create(id));
      await assert.rejects(storage.finalize(id, "personal/x.jpg"));
    }
    for (const key of ["../x.jpg", "../../etc/passwd", "/abs", "a//b", "a\\b", ".parts/ok"]) {
      await assert.rejects(storage.finalize("ok", key));
    }
    assert.deepEqual(await names(outer), ["root"]);
    assert.deepEqual(await names(root), [".parts"]);
    assert.deepEqual(await names(join(root, ".parts")), ["ok"]);
  } finally {
    await Deno.remove(outer, { recursive: true });
  }
});

Deno.test("LocalDiskStorage - a finished file is at <root>/<key>, its part gone", async () => {
  const root = await Deno.makeTempDir({ prefix: "local_disk_" });
  try {
    const storage = new LocalDiskStorage(root);
    await storage.create("up1");
    await storage.finalize("up1", "personal/2026/11/28/up1.jpg");
    assert.ok((await Deno.stat(join(root, "personal/2026/11/28/up1.jpg"))).isFile);
    await assert.rejects(Deno.stat(join(root, ".parts", "up1")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

Deno.test("LocalDiskStorage - paced pieces as large as the small buffer never grow it", async () => {
  // The real-time bench's streaming PATCH: 64 KiB pieces every ~150 ms fill every read of a
  // 64 KiB buffer, yet the client is never ahead of the server.
  const root = await Deno.makeTempDir({ prefix: "local_disk_" });
  try {
    const storage = new LocalDiskStorage(root);
    await storage.create("up1");
    const sizes: number[] = [];
    const result = await storage.write("up1", paced(6, MIN_READ_BUFFER_BYTES, 40), {
      offset: 0,
      maxBytes: 1024 * 1024,
      onReadBuffer: (bytes) => sizes.push(bytes),
    });
    assert.equal(result.bytes, 6 * MIN_READ_BUFFER_BYTES);
    assert.deepEqual(sizes, [MIN_READ_BUFFER_BYTES, MIN_READ_BUFFER_BYTES]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
