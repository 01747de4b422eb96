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
  | "limit";

export interface WriteOptions {
  /** Where the bytes go. The part's file is truncated to this length first (a torn tail). */
  offset: number;
  /** Hard cap on the bytes taken from the body in this call. */
  maxBytes: number;
  /** The body's declared length (Content-Length) when known. */
  expectedBytes?: number;
  signal?: AbortSignal;
  /**
   * Called now and then while writing with an offset whose bytes are on disk (fdatasync
   * done): the caller commits it. Not called when `checksum` is set (all or nothing).
   */
  onCheckpoint?: (durableOffset: number) => void | Promise<void>;
  /** Default 250 ms. */
  checkpointIntervalMs?: number;
  /** Hash the bytes of this call (then bytes are counted in JS, the slower path). */
  checksum?: ChecksumAlgorithm;
}

export interface WriteResult {
  /** Offset after the write, synced to disk. */
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
 */
export interface UploadStorage {
  /** Creates an empty part. Fails if it exists. */
  create(id: string): Promise<void>;
  /** Appends the body at `offset` (see WriteOptions). Throws only on storage failure. */
  write(id: string, body: ReadableStream<Uint8Array>, options: WriteOptions): Promise<WriteResult>;
  /** Cuts the part back to `length` bytes (drops a torn tail or a rejected write). */
  truncate(id: string, length: number): Promise<void>;
  /** Bytes currently in the part (may exceed the committed offset after a crash). */
  partSize(id: string): Promise<number>;
  /** The first `length` bytes of the part (fewer if it is shorter). */
  readHead(id: string, length: number): Promise<Uint8Array>;
  /** Appends whole parts `sourceIds`, in order, to part `id` (tus concatenation), streaming. */
  concat(id: string, sourceIds: string[]): Promise<void>;
  /** Moves part `id` to the finished `key` (a relative path like `personal/2026/11/28/<id>.jpg`), atomically. */
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
