import { AppError } from "../errors.ts";
import type { UploadRecord } from "../state/store.ts";

/**
 * What a request on an upload answers once the upload left `uploading`: one answer per
 * state, whichever node wrote it (a PATCH, a completion and a file command share them).
 */
export function stateError(upload: UploadRecord, action = "append to"): AppError {
  if (upload.status === "paused") {
    return new AppError("UPLOAD_PAUSED", `Upload "${upload.id}" was paused`, {
      headers: { "Upload-Offset": String(upload.offset) },
    });
  }
  const code = upload.error?.code;
  if (upload.status === "failed" && (code === "SESSION_TIMEOUT" || code === "UPLOAD_EXPIRED")) {
    return new AppError("UPLOAD_EXPIRED", `Upload "${upload.id}" has expired`);
  }
  return terminalError(upload, action);
}

/** The answer to `action` on an upload that ended (completed, cancelled, failed). */
export function terminalError(upload: UploadRecord, action: string): AppError {
  if (upload.status === "completed") {
    return new AppError(
      "UPLOAD_ALREADY_COMPLETED",
      `Cannot ${action} "${upload.id}": it is already complete`,
    );
  }
  if (upload.status === "cancelled") {
    return new AppError("UPLOAD_CANCELLED", `Cannot ${action} "${upload.id}": it was cancelled`);
  }
  return new AppError(
    upload.error?.code ?? "INVALID_REQUEST",
    `Cannot ${action} "${upload.id}": ${upload.error?.message ?? "it failed"}`,
  );
}
