/**
 * The unfinished uploads of a session, listed after a reload or a tab crash (issue #8, 3).
 * One localStorage key per endpoint holds every record (the KeyValueStore cannot list keys);
 * the file itself, when small enough, is in the BlobStore under its upload id.
 */
import type { BlobStore } from "./blob_store.ts";
import { PREFIX } from "./resume_store.ts";
import type { FileLike, KeyValueStore } from "./types.ts";

/** Bytes hashed to tell the same file from one with the same name, size and date. */
export const HEAD_BYTES = 64 * 1024;

export interface PendingUpload {
  /** The server's upload id (`fileId`). */
  fileId: string;
  uploadUrl: string;
  sessionId: string;
  token: string;
  name: string;
  size: number;
  type: string;
  lastModified: number;
  /** SHA-256 (hex) of the first HEAD_BYTES bytes. */
  head: string;
  /** The file is in the BlobStore. */
  kept: boolean;
  /** When it was recorded (ms): the newest session is the one shown without `session-id`. */
  at: number;
}

/** SHA-256 of the file's first bytes: read are only those bytes, whatever the file's size. */
export async function headHash(file: FileLike): Promise<string> {
  const bytes = await file.slice(0, HEAD_BYTES).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Same name, size, date and first bytes as the recorded file. */
export async function sameFile(p: PendingUpload, file: FileLike): Promise<boolean> {
  return file.name === p.name && file.size === p.size &&
    file.lastModified === p.lastModified && await headHash(file) === p.head;
}

/** The kept Blob as the file it was (a Blob read back has no name). */
export function asFile(p: PendingUpload, blob: Blob): FileLike {
  return {
    name: p.name,
    size: p.size,
    type: p.type,
    lastModified: p.lastModified,
    slice: (start, end) => blob.slice(start, end),
  };
}

export class PendingList {
  #key: string;
  constructor(readonly store: KeyValueStore, endpoint: string, readonly blobs?: BlobStore) {
    this.#key = PREFIX + endpoint + "|pending";
  }

  all(): PendingUpload[] {
    try {
      const list = JSON.parse(this.store.get(this.#key) ?? "[]");
      return Array.isArray(list) ? list : [];
    } catch {
      return []; // corrupt: nothing to resume
    }
  }

  /** The records of `sessionId`, or (none given) of the newest session recorded. */
  of(sessionId?: string | null): PendingUpload[] {
    const all = this.all();
    const newest = all.reduce<PendingUpload | null>((a, p) => !a || p.at > a.at ? p : a, null);
    const sid = sessionId || newest?.sessionId;
    return all.filter((p) => p.sessionId === sid);
  }

  set(p: PendingUpload): void {
    this.#write([...this.all().filter((q) => q.fileId !== p.fileId), p]);
  }

  drop(fileId: string): void {
    const all = this.all();
    const left = all.filter((p) => p.fileId !== fileId);
    if (left.length !== all.length) this.#write(left);
    this.blobs?.delete(fileId).catch(() => {});
  }

  #write(list: PendingUpload[]): void {
    try {
      if (list.length) this.store.set(this.#key, JSON.stringify(list));
      else this.store.remove(this.#key);
    } catch {
      // Resume is a convenience: a full store must not stop the upload.
    }
  }
}
