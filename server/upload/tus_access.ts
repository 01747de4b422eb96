import { checkUploadGrant } from "../auth/access.ts";
import { AppError } from "../errors.ts";
import type { UploadRecord } from "../state/store.ts";
import { isValidUploadId } from "../storage/storage.ts";
import type { Principal } from "./principal.ts";
import type { Concatenation } from "./concatenation.ts";
import type { UploadContext } from "./context.ts";
import type { StopReason } from "./in_flight.ts";
import type { Completion } from "./completion.ts";
import type { FileCommands } from "./file_commands.ts";

/** An upload as a principal may see it (HEAD, download) and tus termination (DELETE). */
export class TusAccess {
  #ctx: UploadContext;
  #completion: Completion;
  #commands: FileCommands;
  #concat: Concatenation;

  constructor(
    ctx: UploadContext,
    parts: { completion: Completion; commands: FileCommands; concat: Concatenation },
  ) {
    this.#ctx = ctx;
    this.#completion = parts.completion;
    this.#commands = parts.commands;
    this.#concat = parts.concat;
  }

  /** The upload as the principal may see it (HEAD, PATCH, DELETE, download). */
  async getUpload(principal: Principal, id: string): Promise<UploadRecord> {
    if (!isValidUploadId(id)) {
      throw new AppError("FILE_NOT_FOUND", `Upload "${id.slice(0, 80)}" does not exist`);
    }
    const upload = await this.#ctx.store.getUpload(id);
    if (!upload) throw new AppError("FILE_NOT_FOUND", `Upload "${id}" does not exist`);
    checkUploadGrant(principal, upload);
    if (upload.status === "cancelled") {
      throw new AppError("UPLOAD_CANCELLED", `Upload "${id}" was cancelled`);
    }
    if (upload.status !== "completed" && await this.#ctx.expired(upload)) {
      throw new AppError("UPLOAD_EXPIRED", `Upload "${id}" has expired`);
    }
    return upload;
  }

  /** Offset and length as tus HEAD reports them (a final waiting on parts: their sum). */
  async progressOf(upload: UploadRecord): Promise<{ offset: number; size: number | null }> {
    if (upload.concat !== "final") return { offset: upload.offset, size: upload.size };
    return await this.#concat.progress(upload);
  }

  /** A completed upload's bytes for its session's token holders. */
  async openDownload(principal: Principal, id: string, range?: { start: number; end: number }) {
    const upload = await this.getUpload(principal, id);
    if (upload.status !== "completed" || !upload.storageKey) {
      throw new AppError("UPLOAD_NOT_STARTED", `Upload "${id}" is not complete`);
    }
    const file = await this.#ctx.storage.read(upload.storageKey, range);
    return { upload, ...file };
  }

  /** tus termination: removes the upload and its bytes, finished or not. */
  async terminate(principal: Principal, id: string): Promise<void> {
    const upload = await this.getUpload(principal, id);
    this.#ctx.inFlight.stop(id, "cancel" satisfies StopReason);
    const lock = await this.#ctx.lock(id);
    try {
      const fresh = (await this.#ctx.store.getUpload(id)) ?? upload;
      if (fresh.status === "completed" && fresh.storageKey) {
        await this.#ctx.storage.removeFile(fresh.storageKey);
      }
      await this.#commands.cancelUpload(fresh, "Terminated", true);
    } finally {
      await lock.release();
    }
    // A final waiting on a terminated part can never be joined: it fails now, not at expiry.
    if (upload.concat === "partial") {
      for (const final of await this.#concat.finalsWaitingOn(upload)) {
        await this.#ctx.storage.removePart(final.id);
        await this.#completion.fail(
          final,
          "CONCAT_PART_INVALID",
          `Partial upload "${id}" was terminated`,
        );
      }
    }
    if (upload.sessionId) await this.#completion.maybeCompleteSession(upload.sessionId);
  }
}
