import type { SessionRecord, StateStore, UploadRecord } from "../state/store.ts";

/**
 * What a session's progress needs to know of one file: the fields `buildProgress` reads, and
 * nothing else, so a checkpoint publishes a few hundred bytes instead of a session snapshot.
 */
export type FileState = Pick<
  UploadRecord,
  "id" | "filename" | "offset" | "size" | "status" | "error" | "storageKey" | "concat"
>;

/** What a session's progress needs to know of the session itself. */
export type SessionState = Pick<SessionRecord, "id" | "status" | "announcedFileIds">;

/**
 * The service's progress news, published instead of built `upload-progress` events (issue #9:
 * building a snapshot per checkpoint and throttling afterwards cost a `listUploads` per
 * commit). The realtime rooms keep the latest state per file and build an event only when the
 * throttle lets one out. Every delta carries a whole file's (or session's) state, never an
 * increment, so the last one wins whatever came before; plain JSON, so it can cross nodes.
 * `at` is when the service committed it: the emitted `timestamp`, so a watcher can tell the age
 * of what it hears.
 */
export type ProgressDelta =
  /** A file changed (a checkpoint, a status): progress with it as `currentFile`, throttled. */
  | { kind: "file"; sessionId: string; at: number; file: FileState; speed?: number }
  /** The session record changed: state only, nothing is sent for it. */
  | { kind: "session"; sessionId: string; at: number; session: SessionState }
  /** Session-level progress (no `currentFile`), sent at once: the session ended or changed. */
  | { kind: "summary"; sessionId: string; at: number };

export interface ProgressDeltaSource {
  subscribeProgress(listener: (delta: ProgressDelta) => void): () => void;
}

export function fileState(upload: UploadRecord): FileState {
  const { id, filename, offset, size, status, error, storageKey, concat } = upload;
  return { id, filename, offset, size, status, error, storageKey, concat };
}

export function sessionState(session: SessionRecord): SessionState {
  const { id, status, announcedFileIds } = session;
  return { id, status, announcedFileIds };
}

/** The session record as written (any change of status or announced files). */
export function sessionDelta(session: SessionRecord, at: number): ProgressDelta {
  return { kind: "session", sessionId: session.id, at, session: sessionState(session) };
}

/** The delta `#publishProgress(sessionId, current)` stands for. */
export function progressDelta(
  sessionId: string,
  upload: UploadRecord | null | undefined,
  speed: number | undefined,
  at: number,
): ProgressDelta {
  if (!upload) return { kind: "summary", sessionId, at };
  const delta: ProgressDelta = { kind: "file", sessionId, at, file: fileState(upload) };
  if (speed !== undefined) delta.speed = speed;
  return delta;
}

/** A room's first view of a session (realtime/progress_rooms.ts): one read per room, not per delta. */
export function seedFromStore(
  store: Pick<StateStore, "getSession" | "listUploads">,
): (sessionId: string) => Promise<{ session: SessionState; files: FileState[] } | null> {
  return async (sessionId) => {
    const session = await store.getSession(sessionId);
    if (!session) return null;
    const uploads = await store.listUploads(sessionId);
    return { session: sessionState(session), files: uploads.map(fileState) };
  };
}
