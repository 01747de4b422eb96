/**
 * The acceptance check: the real tus-js-client uploads one 1 GiB file to a real
 * server in one PATCH and in 8 MiB chunks; both stored files must have the source's sha256.
 *   deno run -A bench/tus_js_client_1gib.ts [--size=1073741824]
 */
import fs from "node:fs";
import { createHash } from "node:crypto";
import * as tus from "tus-js-client";
import { loadConfig } from "../server/config.ts";
import { startServer } from "../server/main.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const size = Number(args.get("size") ?? 2 ** 30);
const dir = new URL("./tmp", import.meta.url).pathname;
await Deno.mkdir(dir, { recursive: true });
const input = `${dir}/input-${size}.bin`;

async function ensureInput(): Promise<void> {
  try {
    if ((await Deno.stat(input)).size === size) return;
  } catch { /* create */ }
  const file = await Deno.open(input, { write: true, create: true, truncate: true });
  const block = new Uint8Array(2 ** 20);
  for (let at = 0; at < size; at += block.length) {
    for (let i = 0; i < block.length; i += 65536) {
      crypto.getRandomValues(block.subarray(i, i + 65536));
    }
    await file.write(block.subarray(0, Math.min(block.length, size - at)));
  }
  file.close();
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(path, { highWaterMark: 2 ** 20 })) {
    hash.update(chunk);
  }
  return hash.digest("hex");
}

await ensureInput();
const expected = await sha256(input);
const dataDir = await Deno.makeTempDir({ dir, prefix: "tusjs-" });
const server = await startServer(
  loadConfig({
    H5_DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    H5_SCENIC_ALLOWED_TYPES: "*/*",
  }),
  { quiet: true },
);
try {
  for (const chunkSize of [Infinity, 8 * 2 ** 20]) {
    const s = await (await fetch(`${server.url}/api/sessions`, {
      method: "POST",
      body: JSON.stringify({ category: "scenic", clientType: "web" }),
    })).json() as { sessionId: string; token: string };
    let patches = 0;
    const started = performance.now();
    const url = await new Promise<string>((resolve, reject) => {
      const upload: tus.Upload = new tus.Upload(fs.createReadStream(input), {
        endpoint: `${server.url}/api/uploads`,
        chunkSize,
        uploadSize: size,
        headers: { Authorization: `Bearer ${s.token}` },
        metadata: {
          filename: "big.bin",
          filetype: "application/octet-stream",
          sessionId: s.sessionId,
        },
        retryDelays: null,
        onAfterResponse: (req) => void (req.getMethod() === "PATCH" && patches++),
        onSuccess: () => resolve(upload.url!),
        onError: reject,
      });
      upload.start();
    });
    const seconds = (performance.now() - started) / 1000;
    const id = url.split("/").pop()!;
    const snapshot = await (await fetch(`${server.url}/api/sessions/${s.sessionId}`, {
      headers: { Authorization: `Bearer ${s.token}` },
    })).json() as { files: { id: string; uploadPath?: string }[] };
    const path = snapshot.files.find((f) => f.id === id)?.uploadPath;
    const actual = path ? await sha256(`${dataDir}/uploads/${path}`) : "missing";
    console.log(JSON.stringify({
      chunkSize: chunkSize === Infinity ? "one PATCH" : `${chunkSize / 2 ** 20} MiB`,
      patches,
      mbPerSecond: Math.round(size / 1e6 / seconds),
      sha256Match: actual === expected,
      sha256: actual,
    }));
    if (actual !== expected) Deno.exitCode = 1;
  }
} finally {
  await server.close();
  await Deno.remove(dataDir, { recursive: true });
}
