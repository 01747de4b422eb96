import assert from "node:assert/strict";
import { HashPool, makeInput, verify } from "./mod.ts";

async function rejectsWith(run: () => Promise<unknown>, text: string) {
  await assert.rejects(run, (error: Error) => {
    assert.ok(error.message.includes(text), `"${text}" not in: ${error.message}`);
    return true;
  });
}

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "upload-verify-" });
  await Deno.mkdir(`${dir}/inputs`);
  await Deno.mkdir(`${dir}/store`);
  const a = await makeInput(`${dir}/inputs`, "a.jpg", 300_000, true);
  const b = await makeInput(`${dir}/inputs`, "b.bin", 200_000);
  await Deno.copyFile(a.path, `${dir}/store/1`);
  await Deno.copyFile(a.path, `${dir}/store/2`);
  await Deno.copyFile(b.path, `${dir}/store/3`);
  return { dir, a, b, pool: new HashPool(2) };
}

Deno.test("verify accepts every input stored byte for byte", async () => {
  const { dir, a, b, pool } = await setup();
  try {
    await verify(pool, "limit", "test", `${dir}/store`, [a, a, b]);
  } finally {
    pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify names the stack, the scenario and the file of a flipped byte", async () => {
  const { dir, a, b, pool } = await setup();
  try {
    using file = await Deno.open(`${dir}/store/2`, { read: true, write: true });
    await file.seek(123_456, Deno.SeekMode.Start);
    await file.write(new Uint8Array([0x42]));
    await rejectsWith(
      () => verify(pool, "@tus/server", "scenario x", `${dir}/store`, [a, a, b]),
      `@tus/server · scenario x`,
    );
    await rejectsWith(
      () => verify(pool, "@tus/server", "scenario x", `${dir}/store`, [a, a, b]),
      `${dir}/store/2: sha256`,
    );
  } finally {
    pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify fails on a missing, a short and an extra file", async () => {
  const { dir, a, b, pool } = await setup();
  try {
    await rejectsWith(
      () => verify(pool, "limit", "s", `${dir}/store`, [a, a, a, b]),
      "a.jpg: not stored",
    );
    await rejectsWith(
      () => verify(pool, "limit", "s", `${dir}/store`, [a, b]),
      "extra copy",
    );
    await Deno.truncate(`${dir}/store/3`, 199_999);
    await rejectsWith(
      () => verify(pool, "limit", "s", `${dir}/store`, [a, a, b]),
      "199999 bytes",
    );
  } finally {
    pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});
