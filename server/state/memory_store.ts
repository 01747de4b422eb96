import type { SessionRecord, StateStore, UploadRecord, WriteCondition } from "./store.ts";
import { checkCondition, conditionHolds, isExpirable, withoutVersion } from "./record_version.ts";

interface Stored<T> {
  record: T;
  version: number;
}

/** In-process store for tests and single-node development; nothing survives a restart. */
export class MemoryStore implements StateStore {
  #sessions = new Map<string, Stored<SessionRecord>>();
  #uploads = new Map<string, Stored<UploadRecord>>();

  // Records are cloned on the way in and out so callers never share objects with the store,
  // matching the SQLite store where every read is a fresh copy. Every method does its whole
  // check-and-write synchronously, so a conditional write is atomic on the event loop.

  putSession(session: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    return settle(() => put(this.#sessions, session, condition));
  }

  getSession(id: string): Promise<SessionRecord | null> {
    return Promise.resolve(read(this.#sessions.get(id)));
  }

  listExpiredSessions(now: number): Promise<SessionRecord[]> {
    return Promise.resolve(
      list(this.#sessions, (s) => s.status === "active" && s.expiresAt <= now, byExpiry),
    );
  }

  listEndedSessions(before: number): Promise<SessionRecord[]> {
    return Promise.resolve(
      list(this.#sessions, (s) => s.status !== "active" && s.expiresAt <= before, byExpiry),
    );
  }

  deleteSession(id: string, condition?: WriteCondition): Promise<boolean> {
    return settle(() => remove(this.#sessions, id, condition));
  }

  putUpload(upload: UploadRecord, condition?: WriteCondition): Promise<boolean> {
    return settle(() => put(this.#uploads, upload, condition));
  }

  getUpload(id: string): Promise<UploadRecord | null> {
    return Promise.resolve(read(this.#uploads.get(id)));
  }

  listUploads(sessionId: string): Promise<UploadRecord[]> {
    // Same order as the SQLite store (created_at, then id) so ties are deterministic.
    return Promise.resolve(
      list(
        this.#uploads,
        (u) => u.sessionId === sessionId,
        (a, b) => a.createdAt - b.createdAt || compareIds(a, b),
      ),
    );
  }

  listExpiredUploads(now: number): Promise<UploadRecord[]> {
    return Promise.resolve(
      list(this.#uploads, (u) => u.expiresAt <= now && isExpirable(u), byExpiry),
    );
  }

  deleteUpload(id: string, condition?: WriteCondition): Promise<boolean> {
    return settle(() => remove(this.#uploads, id, condition));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function put<T extends { id: string; version?: number }>(
  map: Map<string, Stored<T>>,
  record: T,
  condition?: WriteCondition,
): boolean {
  checkCondition(condition);
  const current = map.get(record.id)?.version ?? 0;
  if (!conditionHolds(current, condition)) return false;
  map.set(record.id, {
    record: structuredClone(withoutVersion(record)) as T,
    version: current + 1,
  });
  return true;
}

function remove<T>(map: Map<string, Stored<T>>, id: string, condition?: WriteCondition): boolean {
  checkCondition(condition);
  if (!conditionHolds(map.get(id)?.version ?? 0, condition)) return false;
  map.delete(id);
  return true;
}

function read<T>(stored: Stored<T> | undefined): T | null {
  return stored ? { ...structuredClone(stored.record), version: stored.version } : null;
}

function list<T extends { id: string }>(
  map: Map<string, Stored<T>>,
  keep: (record: T) => boolean,
  order: (a: T, b: T) => number,
): T[] {
  return [...map.values()]
    .filter((s) => keep(s.record))
    .sort((a, b) => order(a.record, b.record))
    .map((s) => read(s)!);
}

function byExpiry<T extends { id: string; expiresAt: number }>(a: T, b: T): number {
  return a.expiresAt - b.expiresAt || compareIds(a, b);
}

function compareIds(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A throw (a bad condition) becomes a rejection, as from the other stores. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}
