import { AppError } from "../errors.ts";
import type { UploadRecord } from "../state/store.ts";
import type { PatchInput } from "./api.ts";
import { WRITE_ATTEMPTS } from "./conditional.ts";
import type { UploadContext } from "./context.ts";
import type { Principal } from "./principal.ts";
import { isFinalFailure } from "./snapshot.ts";
import type { TusAccess } from "./tus_access.ts";
import { checkSize } from "./upload_rules.ts";

/**
 * A PATCH's checks, then `uploading` written over the version they read; after a conflict
 * (another node wrote the record meanwhile) the checks run again on the newer record.
 */
export async function beginPatch(
  ctx: UploadContext,
  uploads: TusAccess,
  principal: Principal,
  id: string,
  input: PatchInput,
): Promise<{ upload: UploadRecord; room: number; firstStart: boolean }> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    let upload = await uploads.getUpload(principal, id);
    // tus concatenation: "The Server MUST respond with 403 Forbidden to PATCH requests against a final upload URL".
    if (upload.concat === "final") {
      throw new AppError("INSUFFICIENT_PERMISSIONS", "A final upload cannot be patched");
    }
    if (upload.status === "paused") {
      throw new AppError("UPLOAD_PAUSED", `Upload "${id}" is paused`, {
        headers: { "Upload-Offset": String(upload.offset) },
      });
    }
    if (isFinalFailure(upload) && upload.error) {
      throw new AppError(upload.error.code, upload.error.message);
    }
    if (upload.sessionId) ctx.checkOpen(await ctx.session(upload.sessionId));
    // tus core: "If the offsets do not match, the Server MUST respond with 409 Conflict without modifying the upload resource."
    if (input.offset !== upload.offset) {
      throw new AppError(
        "OFFSET_MISMATCH",
        `Cannot append to "${id}": offset ${input.offset} does not match ${upload.offset}`,
        { headers: { "Upload-Offset": String(upload.offset) } },
      );
    }
    const version = upload.version ?? 0;
    if (input.uploadLength !== null) upload = withLength(ctx, upload, input.uploadLength);
    const max = ctx.maxSize(upload);
    const room = (upload.size ?? max) - upload.offset;
    if (input.contentLength !== null && input.contentLength > room) {
      throw new AppError(
        "FILE_TOO_LARGE",
        `Cannot append ${input.contentLength} bytes to "${id}": only ${room} remain`,
      );
    }
    if (upload.status === "completed") return { upload, room, firstStart: false };
    const now = ctx.now();
    const next: UploadRecord = {
      ...upload,
      status: "uploading",
      error: null,
      startedAt: upload.startedAt ?? now,
      updatedAt: now,
      writing: true,
    };
    if (await ctx.store.putUpload(next, { ifVersion: version })) {
      return {
        upload: { ...next, version: version + 1 },
        room,
        firstStart: upload.startedAt === null,
      };
    }
  }
  throw new AppError("UPLOAD_LOCKED", `Upload "${id}" kept changing; retry later`, {
    headers: { "Retry-After": "1" },
  });
}

/** A deferred length given now (the record is written with `uploading`). */
function withLength(ctx: UploadContext, upload: UploadRecord, length: number): UploadRecord {
  if (upload.size !== null) {
    if (upload.size === length) return upload;
    throw new AppError(
      "INVALID_REQUEST",
      `Upload-Length of "${upload.id}" is already ${upload.size}`,
    );
  }
  if (length < upload.offset) {
    throw new AppError(
      "INVALID_REQUEST",
      `Upload-Length ${length} is below the offset ${upload.offset}`,
    );
  }
  checkSize(upload.filename, length, ctx.maxSize(upload));
  return { ...upload, size: length };
}
