import type { Lock } from "../lock/locker.ts";
import type { StateStore } from "../state/store.ts";
import type { UploadStorage } from "../storage/storage.ts";

export interface RetentionDeps {
  store: StateStore;
  storage: UploadStorage;
  /** The session's lock (the one every session write takes). */
  lockSession(id: string): Promise<Lock>;
  /** Drops whatever the service keeps in memory for the session and its uploads. */
  forget(sessionId: string, uploadIds: string[]): void;
}

/**
 * Deletes sessions that ended (completed, cancelled, expired) more than `retentionMs` ago,
 * with their upload records and unfinished parts. Finished files stay: they are the product
 * (their paths were handed out in `upload-completed`). Until then clients get 410 and the
 * session's summary, not 404. Without this, every session ever made stays in the state store.
 */
export async function purgeEndedSessions(
  deps: RetentionDeps,
  now: number,
  retentionMs: number,
): Promise<number> {
  let purged = 0;
  for (const listed of await deps.store.listEndedSessions(now - retentionMs)) {
    const lock = await deps.lockSession(listed.id);
    try {
      // Re-read under the lock: a completed session takes new files until it expires.
      const session = await deps.store.getSession(listed.id);
      if (!session || session.status === "active") continue;
      if (Math.max(session.expiresAt, session.endedAt ?? 0) + retentionMs > now) continue;
      const uploads = await deps.store.listUploads(session.id);
      for (const upload of uploads) {
        // A partial upload stays a part until a final upload consumes it: not a product.
        if (upload.status !== "completed" || upload.concat === "partial") {
          await deps.storage.removePart(upload.id);
        }
        await deps.store.deleteUpload(upload.id, versionOf(upload));
      }
      // As read under the lock: a writer whose lease lapsed cannot have it deleted under it.
      if (!(await deps.store.deleteSession(session.id, versionOf(session)))) continue;
      deps.forget(session.id, uploads.map((u) => u.id));
      purged++;
    } finally {
      await lock.release();
    }
  }
  return purged;
}

function versionOf(record: { version?: number }): { ifVersion?: number } {
  return record.version === undefined ? {} : { ifVersion: record.version };
}
