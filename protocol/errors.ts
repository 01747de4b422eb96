/**
 * Error codes. The first eight come from the spec's table
 * (`websocket-api.zh.md`, 常见错误代码); the rest are our documented additions
 * (README, "Error codes"). One table maps each to an HTTP status and a default message.
 */
export const ERRORS = {
  SESSION_NOT_FOUND: { status: 404, message: "The upload session does not exist" },
  INVALID_SESSION: { status: 400, message: "The session id or session state is invalid" },
  FILE_NOT_FOUND: { status: 404, message: "The upload does not exist" },
  UPLOAD_NOT_STARTED: { status: 409, message: "The upload has not started" },
  UPLOAD_ALREADY_COMPLETED: { status: 409, message: "The upload is already complete" },
  INSUFFICIENT_PERMISSIONS: { status: 403, message: "Missing or invalid session token" },
  RATE_LIMIT_EXCEEDED: { status: 429, message: "Too many requests, slow down" },
  CONNECTION_TIMEOUT: { status: 408, message: "The connection timed out" },
  // Additions (documented in README):
  UPLOAD_PAUSED: { status: 423, message: "The upload is paused" },
  UPLOAD_CANCELLED: { status: 410, message: "The upload was cancelled" },
  UPLOAD_EXPIRED: { status: 410, message: "The upload has expired" },
  UPLOAD_INTERRUPTED: { status: 400, message: "The upload request ended before its body" },
  UPLOAD_LOCKED: { status: 423, message: "Another request is writing this upload" },
  SESSION_TIMEOUT: { status: 410, message: "The session expired after inactivity" },
  SESSION_CLOSED: { status: 409, message: "The session is cancelled or finished" },
  FILE_TOO_LARGE: { status: 413, message: "The file exceeds the size limit" },
  REQUEST_TOO_LARGE: { status: 413, message: "The request body exceeds its limit" },
  FILE_TYPE_NOT_ALLOWED: { status: 415, message: "This file type is not allowed" },
  TOO_MANY_FILES: { status: 409, message: "The session has reached its file limit" },
  CHECKSUM_MISMATCH: { status: 460, message: "The checksum does not match the body" },
  CHECKSUM_UNSUPPORTED: { status: 400, message: "Unsupported checksum algorithm" },
  CONCAT_PART_INVALID: {
    status: 400,
    message: "A listed part is not a free partial upload of this session",
  },
  OFFSET_MISMATCH: { status: 409, message: "Upload-Offset does not match the upload" },
  INVALID_REQUEST: { status: 400, message: "The request is malformed" },
  METHOD_NOT_ALLOWED: { status: 405, message: "This method is not allowed here" },
  NOT_FOUND: { status: 404, message: "No such route" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Unsupported Content-Type" },
  TUS_VERSION_UNSUPPORTED: { status: 412, message: "Unsupported Tus-Resumable version" },
  ORIGIN_NOT_ALLOWED: { status: 403, message: "This origin may not use the uploader" },
  MESSAGE_TOO_LARGE: { status: 413, message: "The socket message is too large" },
  STORAGE_ERROR: { status: 500, message: "The server could not store the data" },
  // RFC 4918 §11.5 507 Insufficient Storage: retryable once space is freed, from HEAD's offset.
  STORAGE_FULL: { status: 507, message: "The server's disk is full; retry later" },
  INTERNAL_ERROR: { status: 500, message: "Internal server error" },
  // RFC 9110 §15.6.4 503 with Retry-After: a shared engine (clustered mode) cannot be reached
  // now; not our fault, and every tus client retries a 5xx.
  STATE_UNAVAILABLE: { status: 503, message: "The shared state store cannot be reached; retry" },
  STORAGE_UNAVAILABLE: { status: 503, message: "The file storage cannot be reached; retry" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The error body of every HTTP error and of every failed socket ack. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  details?: string;
}

/** Codes a client may retry (after backoff) by resuming from the server's offset. */
export const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "UPLOAD_INTERRUPTED",
  "UPLOAD_LOCKED",
  "CONNECTION_TIMEOUT",
  "RATE_LIMIT_EXCEEDED",
  "STORAGE_ERROR",
  "STORAGE_FULL",
  "INTERNAL_ERROR",
  "STATE_UNAVAILABLE",
  "STORAGE_UNAVAILABLE",
  "CHECKSUM_MISMATCH",
  "OFFSET_MISMATCH",
]);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERRORS, value);
}
