import type {
  FileProgress,
  OverallStatus,
  ProgressUpdateEvent,
  SessionSummary,
} from "../../protocol/events.ts";
import type { SessionSnapshot } from "../../protocol/session.ts";
import { RETRYABLE } from "../../protocol/errors.ts";
import type { SessionRecord, UploadRecord } from "../state/store.ts";

/** Percent with two decimals; 0 while the length is unknown. */
export function percent(done: number, total: number | null): number {
  if (!total) return total === 0 ? 100 : 0;
  return Math.min(100, Math.floor((done / total) * 10_000) / 100);
}

/** A failure the client cannot fix by resuming (wrong type, too large, ...). */
export function isFinalFailure(upload: UploadRecord): boolean {
  return upload.status === "failed" && upload.error !== null && !RETRYABLE.has(upload.error.code);
}

/** No more bytes will come: completed, cancelled, or failed for good. */
export function isTerminal(upload: UploadRecord): boolean {
  return upload.status === "completed" || upload.status === "cancelled" || isFinalFailure(upload);
}

export function fileProgress(upload: UploadRecord, speed?: number): FileProgress {
  const file: FileProgress = {
    id: upload.id,
    originalName: upload.filename,
    progress: percent(upload.offset, upload.size),
    status: upload.status,
    uploadedBytes: upload.offset,
    totalBytes: upload.size,
  };
  if (speed !== undefined && upload.status === "uploading") file.uploadSpeed = Math.round(speed);
  if (upload.error) file.errorMessage = upload.error.message;
  if (upload.storageKey) file.uploadPath = upload.storageKey;
  return file;
}

/** Files of a session as watchers see them (tus partials are parts of a file, not files). */
export function visibleFiles(uploads: UploadRecord[]): UploadRecord[] {
  return uploads.filter((u) => u.concat !== "partial");
}

function overallStatus(session: SessionRecord, files: UploadRecord[]): OverallStatus {
  if (session.status === "cancelled") return "cancelled";
  if (session.status === "expired") return "failed";
  if (session.status === "completed") return "completed";
  if (files.some((f) => f.status === "uploading")) return "uploading";
  if (files.some((f) => f.status === "paused")) return "paused";
  if (files.some((f) => f.status === "failed")) return "failed";
  if (
    files.length > 0 && files.every((f) => f.status === "completed" || f.status === "cancelled")
  ) {
    return files.some((f) => f.status === "completed") ? "completed" : "cancelled";
  }
  return "pending";
}

const MESSAGES: Record<OverallStatus, string> = {
  pending: "Waiting for files",
  uploading: "Uploading",
  paused: "Paused",
  completed: "All files uploaded",
  failed: "Some files failed",
  cancelled: "Upload cancelled",
};

export function buildSnapshot(
  session: SessionRecord,
  uploads: UploadRecord[],
  options: {
    now: number;
    current?: string;
    speeds?: ReadonlyMap<string, number>;
    message?: string;
  },
): SessionSnapshot {
  const files = visibleFiles(uploads);
  const counted = files.filter((f) => f.status !== "cancelled");
  const total = counted.reduce((sum, f) => sum + (f.size ?? 0), 0);
  const done = counted.reduce((sum, f) => sum + Math.min(f.offset, f.size ?? f.offset), 0);
  const status = overallStatus(session, files);
  const progress: ProgressUpdateEvent = {
    sessionId: session.id,
    overallStatus: status,
    totalProgress: status === "completed" ? 100 : percent(done, total || null),
    completedFiles: files.filter((f) => f.status === "completed").length,
    failedFiles: files.filter((f) => f.status === "failed").length,
    message: options.message ?? MESSAGES[status],
    timestamp: new Date(options.now).toISOString(),
  };
  const current = files.find((f) => f.id === options.current);
  if (current) progress.currentFile = fileProgress(current, options.speeds?.get(current.id));
  return { ...progress, files: files.map((f) => fileProgress(f, options.speeds?.get(f.id))) };
}

export function buildSummary(
  uploads: UploadRecord[],
  session: SessionRecord,
  now: number,
): SessionSummary {
  const files = visibleFiles(uploads);
  const completed = files.filter((f) => f.status === "completed");
  const uploadedSize = completed.reduce((sum, f) => sum + (f.size ?? 0), 0);
  const started = files.map((f) => f.startedAt).filter((t): t is number => t !== null);
  const from = started.length ? Math.min(...started) : session.createdAt;
  const totalTime = Math.max(0, (now - from) / 1000);
  return {
    totalFiles: files.length,
    completedFiles: completed.length,
    failedFiles: files.filter((f) => f.status === "failed").length,
    cancelledFiles: files.filter((f) => f.status === "cancelled").length,
    totalSize: files.reduce((sum, f) => sum + (f.size ?? f.offset), 0),
    uploadedSize,
    averageSpeed: totalTime > 0 ? Math.round(uploadedSize / totalTime) : uploadedSize,
    totalTime: Math.round(totalTime * 1000) / 1000,
  };
}
