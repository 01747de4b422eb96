import {
  endStatus,
  type FileProgress,
  type OverallStatus,
  type ProgressUpdateEvent,
  type SessionSummary,
} from "../../protocol/events.ts";
import type { SessionSnapshot } from "../../protocol/session.ts";
import { RETRYABLE } from "../../protocol/errors.ts";
import { ENDED } from "../../protocol/status.ts";
import type { SessionRecord, UploadRecord } from "../state/store.ts";
import type { FileState, SessionState } from "./progress_delta.ts";

/** Percent with two decimals; 0 while the length is unknown. */
export function percent(done: number, total: number | null): number {
  if (!total) return total === 0 ? 100 : 0;
  return Math.min(100, Math.floor((done / total) * 10_000) / 100);
}

/** A failure the client cannot fix by resuming (wrong type, too large, ...). */
export function isFinalFailure(upload: Pick<UploadRecord, "status" | "error">): boolean {
  return upload.status === "failed" && upload.error !== null && !RETRYABLE.has(upload.error.code);
}

/** No more bytes will come: completed, cancelled, or failed for good. */
export function isTerminal(upload: Pick<UploadRecord, "status" | "error">): boolean {
  return ENDED.has(upload.status) || isFinalFailure(upload);
}

export function fileProgress(upload: FileState, speed?: number): FileProgress {
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
export function visibleFiles<F extends FileState>(uploads: readonly F[]): F[] {
  return uploads.filter((u) => u.concat !== "partial");
}

function overallStatus(session: SessionState, files: FileState[]): OverallStatus {
  if (session.status === "cancelled") return "cancelled";
  if (session.status === "expired") return "failed";
  if (files.some((f) => f.status === "uploading")) return "uploading";
  if (files.some((f) => f.status === "paused")) return "paused";
  if (files.some((f) => f.status === "failed")) return "failed";
  // Derived from the files even once the record says "completed" (every file settled): a
  // session whose files were all refused or cancelled did not complete (issue #7, item 15).
  const ids = new Set(files.map((f) => f.id));
  const waiting = session.announcedFileIds.some((id) => !ids.has(id));
  if (files.length === 0 || waiting || !files.every(isTerminal)) return "pending";
  return endStatus(files.filter((f) => f.status === "completed").length, 0);
}

const MESSAGES: Record<OverallStatus, string> = {
  pending: "Waiting for files",
  uploading: "Uploading",
  paused: "Paused",
  completed: "All files uploaded",
  failed: "Some files failed",
  cancelled: "Upload cancelled",
};

/**
 * Bytes stored for good over bytes expected. A cancelled file is no longer expected; a file
 * refused for good is expected and has nothing stored, so a session with a refused file
 * never reads 100 % (a retryable failure keeps its committed bytes: it resumes from them).
 */
export function trueProgress(files: FileState[], status: OverallStatus): number {
  let expected = 0;
  let stored = 0;
  for (const f of files) {
    if (f.status === "cancelled") continue;
    const size = f.size ?? (f.status === "completed" ? f.offset : null);
    if (size === null) continue; // deferred length: no share of a total yet
    expected += size;
    if (!isFinalFailure(f)) stored += Math.min(f.offset, size);
  }
  if (expected === 0) return status === "completed" ? 100 : 0;
  return percent(stored, expected);
}

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
  const speedOf = (id: string) => options.speeds?.get(id);
  const progress = buildProgress(session, uploads, { ...options, speedOf });
  const files = visibleFiles(uploads);
  return { ...progress, files: files.map((f) => fileProgress(f, speedOf(f.id))) };
}

/** The `upload-progress` payload from what is known of a session and its files. */
export function buildProgress(
  session: SessionState,
  uploads: readonly FileState[],
  options: {
    now: number;
    current?: string;
    speedOf?: (id: string) => number | undefined;
    message?: string;
  },
): ProgressUpdateEvent {
  const files = visibleFiles(uploads);
  const status = overallStatus(session, files);
  const failed = files.filter((f) => f.status === "failed").length;
  const progress: ProgressUpdateEvent = {
    sessionId: session.id,
    overallStatus: status,
    totalProgress: trueProgress(files, status),
    completedFiles: files.filter((f) => f.status === "completed").length,
    failedFiles: failed,
    message: options.message ??
      (status === "failed" && failed === files.length && failed > 0
        ? "Every file failed"
        : MESSAGES[status]),
    timestamp: new Date(options.now).toISOString(),
  };
  const current = options.current === undefined
    ? undefined
    : files.find((f) => f.id === options.current);
  if (current) progress.currentFile = fileProgress(current, options.speedOf?.(current.id));
  return progress;
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
