/**
 * The disk alone, no network: `LocalDiskStorage.write` of `size` bytes from memory (the
 * server's write path, durable at the end) against the disk's own speed for the same bytes,
 * written then made durable with one fdatasync (what `dd conv=fdatasync` measures). Rounds
 * alternate; with `compare` (another checkout) its LocalDiskStorage runs in the same rounds.
 */
import type { UploadStorage } from "../../server/storage/storage.ts";
import { LocalDiskStorage } from "../../server/storage/local_disk.ts";

const CHUNK = 256 * 1024;

export interface DiskSyncFigures {
  /** MB/s per round, by entry: "write+fdatasync", "storage", optionally "storage (before)". */
  perRound: Record<string, number[]>;
}

/** A byte stream (read BYOB like a request body) of `size` bytes cycled from `source`. */
function body(source: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest;
      const at = sent % source.length;
      const n = Math.min(CHUNK, source.length - at, size - sent);
      if (n <= 0) {
        controller.close();
        request?.respond(0);
        return;
      }
      if (request?.view) {
        // The reader's view may be smaller than CHUNK (the storage's buffers start small).
        const m = Math.min(n, request.view.byteLength);
        const view = new Uint8Array(request.view.buffer, request.view.byteOffset, m);
        view.set(source.subarray(at, at + m));
        request.respond(m);
        sent += m;
        return;
      }
      controller.enqueue(source.slice(at, at + n));
      sent += n;
    },
  });
}

async function writeThenSync(dir: string, source: Uint8Array, size: number): Promise<void> {
  const path = `${dir}/dd`;
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let sent = 0; sent < size; sent += CHUNK) {
    const at = sent % source.length;
    let done = 0;
    const piece = source.subarray(at, at + Math.min(CHUNK, size - sent));
    while (done < piece.length) done += await file.write(piece.subarray(done));
  }
  await file.syncData();
  await Deno.remove(path);
}

async function storageWrite(storage: UploadStorage, source: Uint8Array, size: number) {
  await storage.create("disk-sync");
  const result = await storage.write("disk-sync", body(source, size), {
    offset: 0,
    maxBytes: size,
    expectedBytes: size,
    // As the upload service does: checkpoints on.
    onCheckpoint: () => {},
  });
  // A body that failed half-way would otherwise show up as a record speed.
  if (result.bytes !== size || result.stop !== "end") {
    throw new Error(
      `disk alone: the storage took ${result.bytes} of ${size} bytes (${result.stop})`,
    );
  }
  await storage.removePart("disk-sync");
}

export async function measureDiskSync(
  dir: string,
  size: number,
  rounds: number,
  compare: string | undefined,
  progress: (message: string) => void,
): Promise<DiskSyncFigures> {
  const source = new Uint8Array(16 * 2 ** 20);
  for (let i = 0; i < source.length; i += 65536) {
    crypto.getRandomValues(source.subarray(i, i + 65536));
  }
  const entries: [string, () => Promise<void>][] = [
    ["write+fdatasync", () => writeThenSync(dir, source, size)],
    ["storage", () => storageWrite(new LocalDiskStorage(`${dir}/now`), source, size)],
  ];
  if (compare) {
    const { LocalDiskStorage: Before } = await import(
      `file://${compare}/server/storage/local_disk.ts`
    ) as { LocalDiskStorage: new (root: string) => UploadStorage };
    entries.push([
      "storage (before)",
      () => storageWrite(new Before(`${dir}/before`), source, size),
    ]);
  }
  const perRound: Record<string, number[]> = Object.fromEntries(entries.map(([n]) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < entries.length; j++) {
      const [name, run] = entries[(j + r) % entries.length]!;
      await new Deno.Command("sync").output();
      const started = performance.now();
      await run();
      const mbps = size / 1e6 / ((performance.now() - started) / 1000);
      perRound[name]!.push(mbps);
      progress(`disk alone · ${name} · round ${r + 1}/${rounds}: ${mbps.toFixed(0)} MB/s`);
    }
  }
  return { perRound };
}
