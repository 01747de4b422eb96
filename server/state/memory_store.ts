import type { SessionRecord, StateStore, UploadRecord } from "./store.ts";

/** In-process store for tests and single-node development; nothing survives a restart. */
export class MemoryStore implements StateStore {
  #sessions = new Map<string, SessionRecord>();
  #uploads = new Map<string, UploadRecord>();

  // Records are cloned on the way in and out so callers never share objects with the store,
  // matching the SQLite store where every read is a fresh copy.

  putSession(session: SessionRecord): Promise<void> {
    this.#sessions.set(session.id, structuredClone(session));
    return Promise.resolve();
  }

  getSession(id: string): Promise<SessionRecord | null> {
    const session = this.#sessions.get(id);
    return Promise.resolve(session ? structuredClone(session) : null);
  }

  listExpiredSessions(now: number): Promise<SessionRecord[]> {
    const expired = [...this.#sessions.values()]
      .filter((s) => s.status === "active" && s.expiresAt <= now);
    return Promise.resolve(structuredClone(expired));
  }

  listEndedSessions(before: number): Promise<SessionRecord[]> {
    const ended = [...this.#sessions.values()]
      .filter((s) => s.status !== "active" && s.expiresAt <= before);
    return Promise.resolve(structuredClone(ended));
  }

  deleteSession(id: string): Promise<void> {
    this.#sessions.delete(id);
    return Promise.resolve();
  }

  putUpload(upload: UploadRecord): Promise<void> {
    this.#uploads.set(upload.id, structuredClone(upload));
    return Promise.resolve();
  }

  getUpload(id: string): Promise<UploadRecord | null> {
    const upload = this.#uploads.get(id);
    return Promise.resolve(upload ? structuredClone(upload) : null);
  }

  listUploads(sessionId: string): Promise<UploadRecord[]> {
    const uploads = [...this.#uploads.values()]
      .filter((u) => u.sessionId === sessionId)
      // Same order as the SQLite store (created_at, then id) so ties are deterministic.
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return Promise.resolve(structuredClone(uploads));
  }

  listExpiredUploads(now: number): Promise<UploadRecord[]> {
    const expired = [...this.#uploads.values()]
      .filter((u) => u.expiresAt <= now && (u.status !== "completed" || isUnjoinedPartial(u)));
    return Promise.resolve(structuredClone(expired));
  }

  deleteUpload(id: string): Promise<void> {
    this.#uploads.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A finished partial no final has joined is still unfinished work: it expires too. */
function isUnjoinedPartial(upload: UploadRecord): boolean {
  return upload.concat === "partial" && upload.consumedBy === undefined;
}
