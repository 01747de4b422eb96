import { dirname, join, resolve, sep } from "node:path";
import {
  type CreateOptions,
  isValidUploadId,
  type ReadResult,
  type UploadStorage,
  type WriteOptions,
  type WriteResult,
} from "./storage.ts";
import { countedWrite } from "./counted_write.ts";
import { HeadTap } from "./head_tap.ts";
import { keyProblem, quote } from "./keys.ts";

const PARTS_DIR = ".parts";
/** Ranged reads never hold more than this much of a file in memory. */
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Parts live in `<root>/.parts/<id>`, finished files at `<root>/<key>`. A part becomes a
 * finished file by one rename, so a reader never sees a half-written file under its key.
 */
export class LocalDiskStorage implements UploadStorage {
  readonly #root: string;
  readonly #partsDir: string;
  readonly #idleTimeoutMs: number | undefined;

  /** `idleTimeoutMs`: a body that delivers no byte for this long is ended as "interrupted". */
  constructor(root: string, options: { idleTimeoutMs?: number } = {}) {
    this.#root = resolve(root);
    this.#partsDir = join(this.#root, PARTS_DIR);
    this.#idleTimeoutMs = options.idleTimeoutMs;
  }

  /** `options.key` is checked but not needed: a rename to any key is as cheap. */
  async create(id: string, options: CreateOptions = {}): Promise<void> {
    const path = this.#partPath(id, "create part");
    if (options.key !== undefined) this.#filePath(options.key, "create part for");
    await Deno.mkdir(this.#partsDir, { recursive: true });
    const file = await Deno.open(path, { write: true, createNew: true });
    file.close();
  }

  async write(
    id: string,
    body: ReadableStream<Uint8Array>,
    options: WriteOptions,
  ): Promise<WriteResult> {
    let file: Deno.FsFile | undefined;
    let syncer: Deno.FsFile | undefined;
    try {
      const path = this.#partPath(id, "write part");
      checkWriteOptions(id, options);
      file = await Deno.open(path, { read: true, write: true });
      // fdatasync runs on its own descriptor so it never queues the writes (background_sync.ts).
      syncer = await Deno.open(path, { write: true });
      const size = (await file.stat()).size;
      if (options.offset > size) {
        // Extending would leave a hole of zeros that looks like uploaded bytes.
        throw new Error(
          `Cannot write part ${quote(id)}: offset ${options.offset} is past its end (${size})`,
        );
      }
      await file.truncate(options.offset);
      // Local bytes are cheap to read back; S3 gets its prefix from the tail it streams anyway.
      const head = options.head && options.offset < options.head.bytes
        ? HeadTap.start(options.head, options.offset, await this.readHead(id, options.offset))
        : null;
      await file.seek(options.offset, Deno.SeekMode.Start);
      return await countedWrite(file, syncer, body, options, this.#idleTimeoutMs, head);
    } catch (error) {
      // A body nobody reads would keep the client's request hanging.
      if (!body.locked) body.cancel(error).catch(() => {});
      throw error;
    } finally {
      file?.close();
      syncer?.close();
    }
  }

  async truncate(id: string, length: number): Promise<void> {
    const path = this.#partPath(id, "truncate part");
    // Opening without `create` keeps a missing part an error instead of making a new one.
    const file = await Deno.open(path, { write: true });
    try {
      await file.truncate(length);
      await file.syncData();
    } finally {
      file.close();
    }
  }

  async partSize(id: string): Promise<number> {
    return (await Deno.stat(this.#partPath(id, "stat part"))).size;
  }

  async readHead(id: string, length: number): Promise<Uint8Array> {
    const path = this.#partPath(id, "read part");
    const file = await Deno.open(path, { read: true });
    try {
      const size = (await file.stat()).size;
      const head = new Uint8Array(Math.max(0, Math.min(length, size)));
      let filled = 0;
      while (filled < head.length) {
        const n = await file.read(head.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      return head.subarray(0, filled);
    } finally {
      file.close();
    }
  }

  async concat(id: string, sourceIds: string[]): Promise<void> {
    const target = this.#partPath(id, "concat into part");
    const sources = sourceIds.map((source) => this.#partPath(source, "concat part"));
    if (sourceIds.includes(id)) {
      throw new Error(`Cannot concat into part ${quote(id)}: it is one of its own sources`);
    }
    const out = await Deno.open(target, { write: true, append: true });
    // The writable owns `out` and only its close() flushes the last buffered chunk.
    const writable = out.writable;
    try {
      for (const source of sources) {
        // The readable closes `from` itself at its end or on cancel.
        const from = await Deno.open(source, { read: true });
        await from.readable.pipeTo(writable, { preventClose: true });
      }
      await writable.close();
    } catch (error) {
      await writable.abort(error).catch(() => {});
      throw error;
    }
    await syncFile(target);
  }

  async finalize(id: string, key: string): Promise<void> {
    const from = this.#partPath(id, "finalize part");
    const to = this.#filePath(key, "finalize to file");
    const folder = dirname(to);
    await Deno.mkdir(folder, { recursive: true });
    await syncFile(from);
    await Deno.rename(from, to);
    // The rename itself is only durable once the folder's entry list is on disk.
    await syncDirectory(folder);
  }

  async read(key: string, range?: { start: number; end: number }): Promise<ReadResult> {
    const path = this.#filePath(key, "read file");
    const file = await Deno.open(path, { read: true });
    try {
      const info = await file.stat();
      if (!info.isFile) {
        throw new Deno.errors.NotFound(`Cannot read file ${quote(key)}: not a file`);
      }
      if (range === undefined) return { body: file.readable, size: info.size };
      const { start, end } = range;
      if (
        !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start ||
        end >= info.size
      ) {
        throw new RangeError(
          `Cannot read file ${quote(key)}: range ${start}-${end} is outside 0-${info.size - 1}`,
        );
      }
      await file.seek(start, Deno.SeekMode.Start);
      const size = end - start + 1;
      return { body: boundedReadable(file, size, key), size };
    } catch (error) {
      file.close();
      throw error;
    }
  }

  async stat(key: string): Promise<number | null> {
    const path = this.#filePath(key, "stat file");
    try {
      const info = await Deno.stat(path);
      return info.isFile ? info.size : null;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  async removePart(id: string): Promise<void> {
    await removeIfPresent(this.#partPath(id, "remove part"));
  }

  async removeFile(key: string): Promise<void> {
    await removeIfPresent(this.#filePath(key, "remove file"));
  }

  async listParts(): Promise<string[]> {
    const ids: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.#partsDir)) {
        if (entry.isFile && isValidUploadId(entry.name)) ids.push(entry.name);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    return ids.sort();
  }

  #partPath(id: string, action: string): string {
    if (!isValidUploadId(id)) throw new Error(`Cannot ${action} ${quote(id)}: invalid upload id`);
    return this.#inside(join(this.#partsDir, id), id, action);
  }

  #filePath(key: string, action: string): string {
    const problem = keyProblem(key, PARTS_DIR);
    if (problem !== null) {
      throw new Error(`Cannot ${action} ${quote(key)}: unsafe key (${problem})`);
    }
    return this.#inside(resolve(this.#root, key), key, action);
  }

  /** Last line of defence: whatever the checks above missed must not leave the root. */
  #inside(path: string, value: string, action: string): string {
    const prefix = this.#root.endsWith(sep) ? this.#root : this.#root + sep;
    if (!resolve(path).startsWith(prefix)) {
      throw new Error(`Cannot ${action} ${quote(value)}: outside the storage root`);
    }
    return path;
  }
}

// ---------------------------------------------------------------------------------------
// helpers

function checkWriteOptions(id: string, options: WriteOptions): void {
  const { offset, maxBytes } = options;
  if (
    !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(maxBytes) || maxBytes < 0
  ) {
    throw new RangeError(
      `Cannot write part ${
        quote(id)
      }: offset ${offset} and maxBytes ${maxBytes} must be whole numbers >= 0`,
    );
  }
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function syncFile(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

/** Some filesystems and platforms cannot open or sync a directory; durability is best effort there. */
async function syncDirectory(path: string): Promise<void> {
  let dir: Deno.FsFile;
  try {
    dir = await Deno.open(path, { read: true });
  } catch (error) {
    if (cannotSyncDirectory(error)) return;
    throw error;
  }
  try {
    await dir.syncData();
  } catch (error) {
    if (!cannotSyncDirectory(error)) throw error;
  } finally {
    dir.close();
  }
}

function cannotSyncDirectory(error: unknown): boolean {
  if (error instanceof Deno.errors.NotSupported || error instanceof Deno.errors.PermissionDenied) {
    return true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EINVAL" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "EISDIR";
}

/** Exactly `length` bytes from the file's current position, 64 KiB at a time. */
function boundedReadable(
  file: Deno.FsFile,
  length: number,
  key: string,
): ReadableStream<Uint8Array> {
  let remaining = length;
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buffer = new Uint8Array(Math.min(READ_CHUNK_BYTES, remaining));
        const n = await file.read(buffer);
        if (n === null) {
          // Ending quietly would send a response shorter than its Content-Length.
          throw new Error(`Cannot read file ${quote(key)}: it ended ${remaining} bytes early`);
        }
        remaining -= n;
        controller.enqueue(buffer.subarray(0, n));
        if (remaining === 0) {
          close();
          controller.close();
        }
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  });
}
