import { endStatus, type RoomEvent } from "../../protocol/events.ts";
import type { SessionRecord, UploadRecord } from "../state/store.ts";
import { buildSummary, visibleFiles } from "./snapshot.ts";

/**
 * The event that ends a session once every file is settled. The spec's sequence (连接生命周期)
 * sends `session-completed` when all files completed and `session-error` when something went
 * wrong; a client that follows it shows success on `session-completed`, so a session whose
 * files failed or were all cancelled ends with `session-error` (action "stop") instead. It
 * carries the summary (Addition) so the counts are heard either way.
 */
export function sessionEndEvent(
  uploads: UploadRecord[],
  session: SessionRecord,
  now: number,
): RoomEvent {
  const files = visibleFiles(uploads);
  const summary = buildSummary(uploads, session, now);
  const end = endStatus(summary.completedFiles, summary.failedFiles);
  if (end === "completed") {
    return {
      name: "session-completed",
      payload: {
        sessionId: session.id,
        summary,
        endTime: new Date(now).toISOString(),
        uploadPaths: files.filter((u) => u.storageKey).map((u) => u.storageKey as string),
      },
    };
  }
  const failed = files.filter((f) => f.status === "failed");
  // The first failure names the cause; each file had its own `upload-failed` already.
  const first = failed.find((f) => f.error)?.error;
  const error = end === "cancelled"
    ? { code: "UPLOAD_CANCELLED" as const, message: "Every file of the session was cancelled" }
    : {
      code: first?.code ?? "INTERNAL_ERROR",
      message: `${failed.length} of ${files.length} files failed` +
        (first ? `; first: ${first.message}` : ""),
    };
  return {
    name: "session-error",
    payload: {
      sessionId: session.id,
      error,
      action: "stop",
      affectedFiles: (end === "cancelled" ? files : failed).map((f) => f.id),
      timestamp: new Date(now).toISOString(),
      summary,
    },
  };
}
