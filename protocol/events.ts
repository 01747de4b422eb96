/**
 * The real-time protocol of `websocket-api.zh.md`, as typed Socket.IO event maps shared
 * by the server and the widget. Field names and unions are the spec's; every addition is
 * marked "Addition" and listed in the README's protocol section.
 */
import type { ErrorPayload } from "./errors.ts";

export type Category = "personal" | "scenic";
export const CATEGORIES: readonly Category[] = ["personal", "scenic"];
export type ClientType = "web" | "mobile";
export const CLIENT_TYPES: readonly ClientType[] = ["web", "mobile"];

export type OverallStatus =
  | "pending"
  | "uploading"
  | "paused"
  | "completed"
  | "failed"
  // Addition: a session cancelled as a whole, or whose every file was cancelled.
  | "cancelled";

/**
 * How a session whose files are all settled ended, for the server's snapshot and the widget
 * alike. Spec (服务器端实现): "completed" only when the files were uploaded ("所有文件上传完成"),
 * otherwise "部分文件上传失败", so one failure makes it "failed". A cancelled file was withdrawn
 * and is no longer expected; nothing left at all is the Addition "cancelled".
 */
export function endStatus(completed: number, failed: number): "completed" | "failed" | "cancelled" {
  return failed > 0 ? "failed" : completed > 0 ? "completed" : "cancelled";
}

/** Spec: 'uploading' | 'completed' | 'failed' | 'cancelled'. Addition: 'pending', 'paused'. */
export type FileStatus = "pending" | "uploading" | "paused" | "completed" | "failed" | "cancelled";

// ---- client -> server ----

export interface UploadStartEvent {
  sessionId: string;
  fileIds: string[];
  category: Category;
}
export interface UploadProgressEvent {
  sessionId: string;
  fileId: string;
  progress?: number;
  requestUpdate?: boolean;
}
export interface UploadCancelEvent {
  sessionId: string;
  fileId?: string;
  reason?: string;
}
export interface UploadPauseEvent {
  sessionId: string;
  fileId?: string;
  reason?: string;
}
export interface UploadResumeEvent {
  sessionId: string;
  fileId?: string;
}

// ---- server -> client ----

/** One file's state. `currentFile` in the spec; Addition: the byte fields and `files[]`. */
export interface FileProgress {
  id: string;
  originalName: string;
  progress: number;
  status: FileStatus;
  uploadSpeed?: number;
  errorMessage?: string;
  /** Addition: bytes durably received (the tus offset). */
  uploadedBytes: number;
  /** Addition: declared size, or null while the length is deferred. */
  totalBytes: number | null;
  /** Addition: set once completed. */
  uploadPath?: string;
}

export interface ProgressUpdateEvent {
  sessionId: string;
  overallStatus: OverallStatus;
  totalProgress: number;
  completedFiles: number;
  failedFiles: number;
  currentFile?: FileProgress;
  message: string;
  timestamp: string;
  /** Addition: every file of the session (snapshots and `requestUpdate` answers). */
  files?: FileProgress[];
}

export interface UploadStartedEvent {
  sessionId: string;
  fileId: string;
  fileName: string;
  fileSize: number;
  startTime: string;
}

export interface UploadCompletedEvent {
  sessionId: string;
  fileId: string;
  fileName: string;
  fileSize: number;
  uploadPath: string;
  endTime: string;
  /** Seconds. */
  duration: number;
  /** Bytes per second. */
  finalSpeed: number;
}

export interface UploadFailedEvent {
  sessionId: string;
  fileId: string;
  fileName: string;
  error: ErrorPayload;
  failedAt: string;
  canRetry: boolean;
  retryCount: number;
  maxRetries: number;
}

export interface UploadCancelledEvent {
  sessionId: string;
  fileId?: string;
  reason: string;
  cancelledAt: string;
  uploadedBytes: number;
}

export interface SessionSummary {
  totalFiles: number;
  completedFiles: number;
  failedFiles: number;
  cancelledFiles: number;
  totalSize: number;
  uploadedSize: number;
  averageSpeed: number;
  totalTime: number;
}

export interface SessionCompletedEvent {
  sessionId: string;
  summary: SessionSummary;
  endTime: string;
  uploadPaths: string[];
}

export type SessionAction = "stop" | "pause" | "continue";

export interface SessionErrorEvent {
  sessionId: string;
  error: ErrorPayload;
  action: SessionAction;
  affectedFiles: string[];
  timestamp: string;
  /** Addition: set when the error ends the session (its files failed or were cancelled). */
  summary?: SessionSummary;
}

export interface ConnectionStatusEvent {
  status: "connected" | "disconnected" | "reconnecting" | "error";
  message?: string;
  /** Set on a reconnection: the attempts the client reported (= `reconnectAttempts`). */
  retryCount?: number;
  maxRetries?: number;
  /**
   * Addition: the reconnection attempts the client reported in its handshake
   * (`auth.reconnectAttempts`, 0 on a first connection). A client that comes back (> 0) hears
   * `reconnecting` and then, once it is in its session's room again, `connected`.
   */
  reconnectAttempts?: number;
}

/** Addition: a paused or resumed upload (pause is the server's state, heard by the room). */
export interface UploadPausedEvent {
  sessionId: string;
  fileId: string;
  reason: string;
  pausedAt: string;
  uploadedBytes: number;
}
export interface UploadResumedEvent {
  sessionId: string;
  fileId: string;
  resumedAt: string;
  uploadedBytes: number;
}

/** The spec's error event format (SocketError). */
export interface SocketError {
  event: string;
  error: ErrorPayload;
  timestamp: string;
  requestId?: string;
}

/** Every command's acknowledgement. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorPayload };
export type AckFn<T> = (reply: Ack<T>) => void;

export interface ServerToClientEvents {
  "upload-progress": (e: ProgressUpdateEvent) => void;
  "upload-started": (e: UploadStartedEvent) => void;
  "upload-completed": (e: UploadCompletedEvent) => void;
  "upload-failed": (e: UploadFailedEvent) => void;
  "upload-cancelled": (e: UploadCancelledEvent) => void;
  "upload-paused": (e: UploadPausedEvent) => void;
  "upload-resumed": (e: UploadResumedEvent) => void;
  "session-completed": (e: SessionCompletedEvent) => void;
  "session-error": (e: SessionErrorEvent) => void;
  "connection-status": (e: ConnectionStatusEvent) => void;
  error: (e: SocketError) => void;
}

export interface ClientToServerEvents {
  /** Spec: the session id. Addition: `{sessionId, token}` to watch another session. */
  "join-session": (
    session: string | { sessionId: string; token: string },
    ack?: AckFn<ProgressUpdateEvent>,
  ) => void;
  "leave-session": (sessionId: string, ack?: AckFn<{ sessionId: string }>) => void;
  "upload-start": (e: UploadStartEvent, ack?: AckFn<ProgressUpdateEvent>) => void;
  "upload-progress": (e: UploadProgressEvent, ack?: AckFn<ProgressUpdateEvent>) => void;
  "upload-pause": (e: UploadPauseEvent, ack?: AckFn<ProgressUpdateEvent>) => void;
  "upload-resume": (e: UploadResumeEvent, ack?: AckFn<ProgressUpdateEvent>) => void;
  "upload-cancel": (e: UploadCancelEvent, ack?: AckFn<ProgressUpdateEvent>) => void;
}

/** Server events that go to a whole session room, in the shape the service emits them. */
export type RoomEvent = {
  [K in Exclude<keyof ServerToClientEvents, "connection-status" | "error">]: {
    name: K;
    payload: Parameters<ServerToClientEvents[K]>[0];
  };
}[Exclude<keyof ServerToClientEvents, "connection-status" | "error">];

/** Spec, 节流策略: at most one progress event per file every 500 ms and 1 %. */
export const THROTTLE_INTERVAL_MS = 500;
export const MIN_PROGRESS_CHANGE = 1;
/** Spec, 会话超时策略: sessions idle for 30 minutes expire. */
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;
