import type { ChecksumAlgorithm } from "../../protocol/tus.ts";

/** Why a `write` stopped taking bytes. */
export type WriteStop =
  /** The body ended (all of it is stored). */
  | "end"
  /** `signal` aborted (pause, cancel, a competing request): what arrived is kept. */
  | "aborted"
  /** The body errored or the client went away mid-body: what arrived is kept. */
  | "interrupted"
  /** The body carried more than `maxBytes`: the first `maxBytes` are kept. */
  | "limit"
  /**
   * `head.check` said no: the write stopped right after the bytes that completed the head
   * (they are kept; the caller removes the part).
   */
  | "rejected";

/**
 * A content check on the part's first bytes as they stream past, so no storage has to read
 * an unfinished part back (S3 cannot read the parts of a multipart upload).
 */
export interface HeadCheck {
  /** How many first bytes of the part `check` needs (at most 64 KiB). */
  bytes: number;
  /**
   * Called once, and awaited before more bytes are taken, when this write makes the part
   * reach `bytes` bytes (so only by a write whose offset is below `bytes`), with the part's
   * first `bytes` bytes. A write that ends short of `bytes` does not call it: a caller that
   * knows the upload's length passes `min(sniff, length)` so the last write always does.
   */
  check(head: Uint8Array): boolean | Promise<boolean>;
}

export interface CreateOptions {
  /**
   * The finished file's key, when known at creation: a storage that cannot rename (S3) then
   * stages the bytes under it directly, and `finalize` with the same key copies nothing.
   */
  key?: string;
}

export interface WriteOptions {
  /**
   * Where the bytes go: the caller's committed offset. The part is cut back to it first (a
   * torn tail), so it must be one the truncate rule allows (see `UploadStorage.truncate`).
   */
  offset: number;
  /** Hard cap on the bytes taken from the body in this call. */
  maxBytes: number;
  /** The body's declared length (Content-Length) when known. */
  expectedBytes?: number;
  signal?: AbortSignal;
  /**
   * Called now and then while writing with an offset whose bytes are durable in this storage
   * (local disk: fdatasync done, every `checkpointIntervalMs`; S3: at each 5 MiB part stored
   * with its manifest): the caller commits it. Awaited. Not called when `checksum` is set (all
   * or nothing).
   */
  onCheckpoint?: (durableOffset: number) => void | Promise<void>;
  /** Default 250 ms. */
  checkpointIntervalMs?: number;
  /** Hash the bytes of this call (then bytes are counted in JS, the slower path). */
  checksum?: ChecksumAlgorithm;
  /** Check the content from the part's first bytes as they pass (see HeadCheck). */
  head?: HeadCheck;
  /**
   * Test seam: called with the size of each buffer the write allocates to hold body bytes
   * (local disk: its read buffers; S3: its part buffer as it grows).
   */
  onReadBuffer?: (bytes: number) => void;
}

export interface WriteResult {
  /** Offset after the write, durable in this storage (synced to disk, stored in S3). */
  offset: number;
  /** Bytes taken from the body by this call. */
  bytes: number;
  stop: WriteStop;
  /** Digest of this call's bytes when `checksum` was asked. */
  digest?: Uint8Array;
}

export interface ReadResult {
  body: ReadableStream<Uint8Array>;
  size: number;
}

/**
 * Where upload bytes live. Ids are validated before they reach here
 * (`isValidUploadId`); a storage also refuses any id or key that would escape its root.
 * In-progress parts are kept apart from finished files; `finalize` moves a part
 * atomically to its final key, so no partial file is ever visible as finished.
 *
 * Durable offsets: every offset a storage reports (a checkpoint, a WriteResult's `offset`,
 * `partSize`) is durable in it; a crash or a cut body loses nothing that was reported.
 */
export interface UploadStorage {
  /** Creates an empty part, staged under `options.key` when given. Fails if it exists. */
  create(id: string, options?: CreateOptions): Promise<void>;
  /** Appends the body at `offset` (see WriteOptions). Throws only on storage failure. */
  write(id: string, body: ReadableStream<Uint8Array>, options: WriteOptions): Promise<WriteResult>;
  /**
   * Cuts the part back to `length` bytes (drops a torn tail or a rejected write). Every
   * storage supports: 0; and any offset it reported durable for this part that is not below
   * the offset of the latest write (the caller's committed offset, e.g. after a crash between
   * the storage and the state, or a write's own start after a checksum mismatch). Local disk
   * supports any length up to the part's size; S3 only those (it cannot read a stored part
   * back) and throws for others.
   */
  truncate(id: string, length: number): Promise<void>;
  /** Durable bytes in the part (may exceed the committed offset after a crash). */
  partSize(id: string): Promise<number>;
  /**
   * The first `length` bytes of the part (fewer if it is shorter). Optional in spirit: the
   * service-facing path is `WriteOptions.head`. S3 serves it cheaply up to 64 KiB only.
   */
  readHead(id: string, length: number): Promise<Uint8Array>;
  /** Appends whole parts `sourceIds`, in order, to part `id` (tus concatenation), streaming. */
  concat(id: string, sourceIds: string[]): Promise<void>;
  /**
   * Moves part `id` to the finished `key` (a relative path like `personal/2026/11/28/<id>.jpg`),
   * atomically. A key other than the one given at `create` costs S3 a server-side copy.
   */
  finalize(id: string, key: string): Promise<void>;
  /** Streams a finished file, optionally a byte range [start, end] inclusive. */
  read(key: string, range?: { start: number; end: number }): Promise<ReadResult>;
  /** Size of a finished file, or null. */
  stat(key: string): Promise<number | null>;
  /** Removes a part; no error if it is gone. */
  removePart(id: string): Promise<void>;
  /** Removes a finished file; no error if it is gone. */
  removeFile(key: string): Promise<void>;
  /** Ids of every part present (for cleaning up after a crash or expiry). */
  listParts(): Promise<string[]>;
}

/** Upload ids: the client may choose them (`fileId` metadata), so they are checked strictly. */
export const UPLOAD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export function isValidUploadId(id: string): boolean {
  return UPLOAD_ID_PATTERN.test(id);
}
