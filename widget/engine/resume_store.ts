/**
 * Where an unfinished upload lives, kept so a re-picked file continues after a reload.
 * Keys: `h5-uploader:<endpoint>|<sessionId>|<fingerprint>` holds the entry, and
 * `h5-uploader:<endpoint>|<fingerprint>` the last session the file was uploaded in (so an
 * engine that has no session yet can find it).
 */
import type { FileLike, KeyValueStore } from "./types.ts";

export interface ResumeEntry {
  uploadUrl: string;
  /** The server's upload id (`fileId`). */
  fileId: string;
  sessionId: string;
  token: string;
}

export const PREFIX = "h5-uploader:";

/** Same name, size, date and type: the same file picked again. */
export function fingerprint(file: Omit<FileLike, "slice">): string {
  return `${file.name}-${file.size}-${file.lastModified}-${file.type}`;
}

export class ResumeStore {
  #store: KeyValueStore;
  #base: string;

  constructor(store: KeyValueStore, endpoint: string) {
    this.#store = store;
    this.#base = PREFIX + endpoint + "|";
  }

  /** The entry of `fp` in `sessionId`, or (no session given) in the last session it was in. */
  get(fp: string, sessionId?: string | null): ResumeEntry | null {
    try {
      sessionId ??= this.#store.get(this.#base + fp);
      if (!sessionId) return null;
      const entry = JSON.parse(this.#store.get(this.#base + sessionId + "|" + fp) ?? "null");
      return entry?.uploadUrl && entry.sessionId === sessionId ? entry : null;
    } catch {
      return null; // unreadable storage or a corrupt entry: start afresh
    }
  }

  set(fp: string, entry: ResumeEntry): void {
    this.#try(() => {
      this.#store.set(this.#base + entry.sessionId + "|" + fp, JSON.stringify(entry));
      this.#store.set(this.#base + fp, entry.sessionId);
    });
  }

  remove(fp: string, sessionId: string): void {
    this.#try(() => {
      this.#store.remove(this.#base + sessionId + "|" + fp);
      if (this.#store.get(this.#base + fp) === sessionId) this.#store.remove(this.#base + fp);
    });
  }

  #try(write: () => void): void {
    try {
      write();
    } catch {
      // Resume is a convenience: a full or refused store must not stop the upload.
    }
  }
}
