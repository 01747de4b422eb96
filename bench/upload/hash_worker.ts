/** Hashes files off the main thread: receives `{id, path}`, answers `{id, sha256}` or `{id, error}`. */
import { createHash } from "node:crypto";

const CHUNK = 4 * 2 ** 20;

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(CHUNK);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

self.onmessage = async (event: MessageEvent<{ id: number; path: string }>) => {
  const { id, path } = event.data;
  try {
    self.postMessage({ id, sha256: await sha256File(path) });
  } catch (error) {
    self.postMessage({ id, error: String(error) });
  }
};
