import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { SessionRecord, StateStore, UploadRecord, WriteCondition } from "./store.ts";
import { checkCondition, withoutVersion } from "./record_version.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  data TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS uploads (
  id TEXT PRIMARY KEY,
  session_id TEXT,
  status TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  data TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS uploads_session_id ON uploads (session_id);
CREATE INDEX IF NOT EXISTS uploads_expires_at ON uploads (expires_at);
`;

/**
 * Databases made before versions (main at 1966ed8) lack the column: their rows become
 * version 1, i.e. stored, so `ifVersion: 0` ("only if absent") cannot overwrite them.
 */
function migrate(db: DatabaseSync): void {
  for (const table of ["sessions", "uploads"]) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
    if (!columns.some((c) => c.name === "version")) {
      db.exec(`ALTER TABLE ${table} ADD COLUMN version INTEGER NOT NULL DEFAULT 1`);
    }
  }
}

/**
 * The writes of one table. Each is one statement, so a conditional write's check and write are
 * atomic even with another process on the same file.
 */
class TableWrites {
  #upsert: StatementSync;
  #insertIfAbsent: StatementSync;
  #updateIfVersion: StatementSync;
  #delete: StatementSync;
  #deleteIfVersion: StatementSync;

  constructor(db: DatabaseSync, table: string, columns: string[]) {
    const names = ["id", ...columns, "data"];
    const insert = `INSERT INTO ${table} (${names.join(", ")}, version)
      VALUES (${names.map(() => "?").join(", ")}, 1)`;
    const set = [...columns, "data"].map((c) => `${c} = ?`).join(", ");
    const setExcluded = [...columns, "data"].map((c) => `${c} = excluded.${c}`).join(", ");
    this.#upsert = db.prepare(
      `${insert} ON CONFLICT (id) DO UPDATE SET ${setExcluded}, version = version + 1`,
    );
    this.#insertIfAbsent = db.prepare(`${insert} ON CONFLICT (id) DO NOTHING`);
    this.#updateIfVersion = db.prepare(
      `UPDATE ${table} SET ${set}, version = version + 1 WHERE id = ? AND version = ?`,
    );
    this.#delete = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
    this.#deleteIfVersion = db.prepare(`DELETE FROM ${table} WHERE id = ? AND version = ?`);
  }

  /** `values`: the id, then the columns, then the JSON data. */
  put(values: SQLInputValue[], condition?: WriteCondition): boolean {
    checkCondition(condition);
    const v = condition?.ifVersion;
    if (v === undefined) {
      this.#upsert.run(...values);
      return true;
    }
    if (v === 0) return Number(this.#insertIfAbsent.run(...values).changes) === 1;
    const [id, ...rest] = values;
    return Number(this.#updateIfVersion.run(...rest, id!, v).changes) === 1;
  }

  delete(id: string, exists: () => boolean, condition?: WriteCondition): boolean {
    checkCondition(condition);
    const v = condition?.ifVersion;
    if (v === undefined) {
      this.#delete.run(id);
      return true;
    }
    if (v === 0) return !exists();
    return Number(this.#deleteIfVersion.run(id, v).changes) === 1;
  }
}

/**
 * SQLite-backed store. The whole record lives in `data` as JSON (without its version, which is
 * the `version` column); the other columns are copies kept only so the listings can use
 * indexes. Every statement runs synchronously, so once a promise resolves the write is
 * committed.
 */
export class SqliteStore implements StateStore {
  #db: DatabaseSync;
  #sessions: TableWrites;
  #getSession: StatementSync;
  #expiredSessions: StatementSync;
  #endedSessions: StatementSync;
  #uploads: TableWrites;
  #getUpload: StatementSync;
  #listUploads: StatementSync;
  #expiredUploads: StatementSync;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    // WAL keeps readers off the writer's back. synchronous=NORMAL: a commit is in the WAL
    // (the OS has it) before the statement returns, so it survives `kill -9`; an OS crash may
    // lose the last commits, which only moves an offset back over bytes already fdatasynced
    // (the data is synced before its offset is committed), never ahead of them. FULL fsynced
    // on every commit on the event loop: the realtime bench measured the main thread blocked
    // in fsync 6-26 % of the time and progress p99 at 83-567 ms with 1,000 watchers.
    this.#db.exec("PRAGMA journal_mode=WAL");
    this.#db.exec("PRAGMA synchronous=NORMAL");
    this.#db.exec(SCHEMA);
    migrate(this.#db);

    const db = this.#db;
    this.#sessions = new TableWrites(db, "sessions", ["status", "expires_at"]);
    this.#getSession = db.prepare("SELECT data, version FROM sessions WHERE id = ?");
    this.#expiredSessions = db.prepare(
      `SELECT data, version FROM sessions WHERE status = 'active' AND expires_at <= ?
       ORDER BY expires_at, id`,
    );
    this.#endedSessions = db.prepare(
      `SELECT data, version FROM sessions WHERE status <> 'active' AND expires_at <= ?
       ORDER BY expires_at, id`,
    );
    this.#uploads = new TableWrites(db, "uploads", [
      "session_id",
      "status",
      "expires_at",
      "created_at",
    ]);
    this.#getUpload = db.prepare("SELECT data, version FROM uploads WHERE id = ?");
    this.#listUploads = db.prepare(
      "SELECT data, version FROM uploads WHERE session_id = ? ORDER BY created_at, id",
    );
    this.#expiredUploads = db.prepare(
      // A finished partial no final has joined is still unfinished work: it expires too.
      `SELECT data, version FROM uploads WHERE expires_at <= ? AND (status <> 'completed' OR
         (json_extract(data, '$.concat') = 'partial' AND json_extract(data, '$.consumedBy') IS NULL))
       ORDER BY expires_at, id`,
    );
  }

  putSession(session: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    return settle(() =>
      this.#sessions.put([
        session.id,
        session.status,
        session.expiresAt,
        JSON.stringify(withoutVersion(session)),
      ], condition)
    );
  }

  getSession(id: string): Promise<SessionRecord | null> {
    return settle(() => parseRow<SessionRecord>(this.#getSession.get(id)));
  }

  listExpiredSessions(now: number): Promise<SessionRecord[]> {
    return settle(() => parseRows<SessionRecord>(this.#expiredSessions.all(now)));
  }

  listEndedSessions(before: number): Promise<SessionRecord[]> {
    return settle(() => parseRows<SessionRecord>(this.#endedSessions.all(before)));
  }

  deleteSession(id: string, condition?: WriteCondition): Promise<boolean> {
    return settle(() =>
      this.#sessions.delete(id, () => this.#getSession.get(id) !== undefined, condition)
    );
  }

  putUpload(upload: UploadRecord, condition?: WriteCondition): Promise<boolean> {
    return settle(() =>
      this.#uploads.put([
        upload.id,
        upload.sessionId,
        upload.status,
        upload.expiresAt,
        upload.createdAt,
        JSON.stringify(withoutVersion(upload)),
      ], condition)
    );
  }

  getUpload(id: string): Promise<UploadRecord | null> {
    return settle(() => parseRow<UploadRecord>(this.#getUpload.get(id)));
  }

  listUploads(sessionId: string): Promise<UploadRecord[]> {
    return settle(() => parseRows<UploadRecord>(this.#listUploads.all(sessionId)));
  }

  listExpiredUploads(now: number): Promise<UploadRecord[]> {
    return settle(() => parseRows<UploadRecord>(this.#expiredUploads.all(now)));
  }

  deleteUpload(id: string, condition?: WriteCondition): Promise<boolean> {
    return settle(() =>
      this.#uploads.delete(id, () => this.#getUpload.get(id) !== undefined, condition)
    );
  }

  close(): Promise<void> {
    return settle(() => this.#db.close());
  }
}

/** Runs a synchronous statement so that a SQLite error becomes a rejection, not a throw. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

type Row = Record<string, unknown>;

function parseRow<T>(row: Row | undefined): T | null {
  return row ? { ...JSON.parse(String(row.data)), version: Number(row.version) } as T : null;
}

function parseRows<T>(rows: Row[]): T[] {
  return rows.map((row) => parseRow<T>(row)!);
}
