import type { Category, ClientType, FileStatus } from "../../protocol/events.ts";
import type { ErrorPayload } from "../../protocol/errors.ts";

export type SessionStatus = "active" | "completed" | "cancelled" | "expired";

export interface SessionRecord {
  id: string;
  category: Category;
  clientType: ClientType;
  status: SessionStatus;
  /** Epoch milliseconds, as every time below. */
  createdAt: number;
  lastActivity: number;
  /** lastActivity + session timeout; also the token's expiry floor. */
  expiresAt: number;
  /** Ids announced by `upload-start` before their tus creation (counted toward limits). */
  announcedFileIds: string[];
  endedAt: number | null;
  /** Set by the store on every read (see `StateStore`); ignored on write. */
  version?: number;
}

export type ConcatKind = "none" | "partial" | "final";

export interface UploadRecord {
  id: string;
  /** null only for anonymous uploads (H5_ALLOW_ANONYMOUS). */
  sessionId: string | null;
  category: Category | null;
  /** Sanitised for display; never used in a path. */
  filename: string;
  filetype: string;
  /** Lowercase extension with dot (".jpg") derived from the checked type, or "". */
  ext: string;
  /** null while the length is deferred. */
  size: number | null;
  /** Committed offset: bytes durably stored. */
  offset: number;
  status: FileStatus;
  /** Raw Upload-Metadata header, echoed by HEAD. */
  metadata: string;
  concat: ConcatKind;
  /** Final uploads: the partial ids, in order. */
  parts: string[];
  /** Partial uploads: the final upload whose bytes now hold this part's (set once joined). */
  consumedBy?: string;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  completedAt: number | null;
  expiresAt: number;
  /** Relative final path once completed (`uploadPath`). */
  storageKey: string | null;
  retryCount: number;
  error: ErrorPayload | null;
  /** Magic-number check done on the first bytes. */
  typeChecked: boolean;
  /**
   * Set by a PATCH as it begins and cleared by its last commit: an `uploading` record that
   * has it while no one holds its lock lost its writer mid-PATCH (recovery marks it
   * interrupted); one without it is between two PATCHes, which is normal (issue #9: a node
   * that starts must not fail an upload another node serves chunk by chunk).
   */
  writing?: boolean;
  /**
   * Bytes per second (smoothed) at the writer's latest checkpoint, written with its offset:
   * a snapshot read on another node than the writer's shows it too.
   */
  speed?: number;
  /** Set by the store on every read (see `StateStore`); ignored on write. */
  version?: number;
}

/**
 * Makes a write conditional on the stored version: it happens only when the record's version
 * is still `ifVersion` (0: only when there is no record), so a writer whose lock lapsed
 * cannot overwrite what another node wrote since its read (issue #9: a pause lost to a stale
 * checkpoint). A conditional write that happens leaves the version at exactly `ifVersion + 1`.
 */
export interface WriteCondition {
  ifVersion?: number;
}

/**
 * Session and upload state. A write has survived `kill -9` once its promise settles (the
 * SQLite store commits synchronously to its WAL). After an OS crash a store may come back
 * with an older offset, never a newer one: bytes are synced before their offset is committed.
 */
/**
 * Versions: the store keeps a counter per record, starting at 1 when it is created and bumped
 * by every write; every read returns it as `version`. A write's `version` field is ignored:
 * only `WriteCondition.ifVersion` makes it conditional. Writes and deletes resolve to true
 * when they happened (always, when unconditional) and to false when the condition failed.
 */
export interface StateStore {
  putSession(session: SessionRecord, condition?: WriteCondition): Promise<boolean>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Sessions with status "active" whose expiresAt <= now. */
  listExpiredSessions(now: number): Promise<SessionRecord[]>;
  /** With `ifVersion` 0: true when there was nothing to delete. */
  deleteSession(id: string, condition?: WriteCondition): Promise<boolean>;
  /** Sessions no longer active (completed, cancelled, expired) whose expiresAt <= before. */
  listEndedSessions(before: number): Promise<SessionRecord[]>;

  putUpload(upload: UploadRecord, condition?: WriteCondition): Promise<boolean>;
  getUpload(id: string): Promise<UploadRecord | null>;
  /** A session's uploads, oldest first. */
  listUploads(sessionId: string): Promise<UploadRecord[]>;
  /** Uploads not completed (or finished partials no final joined) whose expiresAt <= now. */
  listExpiredUploads(now: number): Promise<UploadRecord[]>;
  /** With `ifVersion` 0: true when there was nothing to delete. */
  deleteUpload(id: string, condition?: WriteCondition): Promise<boolean>;

  close(): Promise<void>;
}
