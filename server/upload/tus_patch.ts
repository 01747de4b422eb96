import { AppError } from "../errors.ts";
import type { UploadRecord } from "../state/store.ts";
import type { UploadStorage } from "../storage/storage.ts";
import { isDiskFull } from "../storage/disk_full.ts";
import { SNIFF_BYTES } from "./content_check.ts";
import type { Principal } from "./principal.ts";
import type { UploadContext } from "./context.ts";
import type { StopReason } from "./in_flight.ts";
import type { PatchInput } from "./api.ts";
import type { DomainEvents } from "./domain_events.ts";
import type { Completion } from "./completion.ts";
import type { TusAccess } from "./tus_access.ts";
import { beginPatch } from "./patch_begin.ts";
import { headCheckFor } from "./head_check.ts";
import type { CheckedType } from "./content_check.ts";
import { stateError } from "./state_errors.ts";
import { doneWriting } from "./writing.ts";

/**
 * tus PATCH: append under the upload's lock, checkpoints committing offsets, deferred length,
 * checksum. Every state write is conditional on the version read and built from the stored
 * record, and a lapsed lease (`lock.lost`) ends the write with no state write after it.
 */
export class TusPatch {
  #ctx: UploadContext;
  #events: DomainEvents;
  #completion: Completion;
  #uploads: TusAccess;

  constructor(
    ctx: UploadContext,
    parts: { events: DomainEvents; completion: Completion; uploads: TusAccess },
  ) {
    this.#ctx = ctx;
    this.#events = parts.events;
    this.#completion = parts.completion;
    this.#uploads = parts.uploads;
  }

  async patch(
    principal: Principal,
    id: string,
    body: ReadableStream<Uint8Array>,
    input: PatchInput,
  ): Promise<UploadRecord> {
    await this.#uploads.getUpload(principal, id);
    const lock = await this.#ctx.lock(id);
    try {
      return await this.#patchLocked(principal, id, body, input, lock.lost);
    } finally {
      await lock.release();
    }
  }

  async #patchLocked(
    principal: Principal,
    id: string,
    body: ReadableStream<Uint8Array>,
    input: PatchInput,
    lost: AbortSignal,
  ): Promise<UploadRecord> {
    const begun = await beginPatch(this.#ctx, this.#uploads, principal, id, input);
    const upload = begun.upload;
    const { room, firstStart } = begun;
    if (upload.status === "completed") return upload;

    const start = upload.offset;
    const now = upload.updatedAt;
    await this.#ctx.touch(upload.sessionId);
    this.#ctx.speeds.restart(id, start, now);
    if (upload.sessionId && upload.concat === "none") {
      if (firstStart) {
        this.#ctx.bus.publish({
          name: "upload-started",
          payload: {
            sessionId: upload.sessionId,
            fileId: id,
            fileName: upload.filename,
            fileSize: upload.size ?? 0,
            startTime: new Date(now).toISOString(),
          },
        });
      }
      await this.#events.publishProgress(upload.sessionId, id);
    }

    const controller = this.#ctx.inFlight.register(id);
    const sniff = headCheckFor(upload, start, this.#ctx.config);
    const found = () => sniff?.found() ?? null;
    let current = upload;
    let chain = Promise.resolve();
    const checkpoint = (offset: number) => {
      chain = chain.then(async () => {
        // A lapsed lease: another node may hold the upload now, so nothing more is written.
        if (lost.aborted || offset <= current.offset || current.status !== "uploading") return;
        current = await this.#commitOffset(current, offset, { found: found() });
        if (current.status !== "uploading") controller.abort("superseded" satisfies StopReason);
      });
      return chain;
    };
    let result;
    try {
      const options: Parameters<UploadStorage["write"]>[2] = {
        offset: start,
        maxBytes: room,
        signal: AbortSignal.any([controller.signal, lost]),
        onCheckpoint: checkpoint,
      };
      if (input.contentLength !== null) options.expectedBytes = input.contentLength;
      if (input.checksum) options.checksum = input.checksum.algorithm;
      if (sniff) options.head = sniff.head;
      result = await this.#ctx.storage.write(id, body, options);
      await chain;
    } catch (error) {
      await chain.catch(() => {});
      this.#ctx.inFlight.unregister(id, controller);
      if (lost.aborted) throw this.#lapsed(id, error);
      throw await this.#storageFailed(current, error);
    }
    this.#ctx.inFlight.unregister(id, controller);
    if (lost.aborted) throw this.#lapsed(id, lost.reason);
    const stop = controller.signal.aborted ? (controller.signal.reason as StopReason) : null;

    // The head check said no: today's type rejection (the part goes, the upload fails).
    if (result.stop === "rejected") {
      if (current.status !== "uploading") throw stateError(current);
      return await this.#completion.rejectContent(current);
    }
    if (
      input.checksum && (result.stop !== "end" || !equalBytes(result.digest, input.checksum.digest))
    ) {
      // tus checksum: "the Server MUST respond with 460 Checksum Mismatch" and the chunk is discarded.
      await this.#ctx.storage.truncate(id, start);
      current = await this.#commitOffset({ ...current, offset: start }, start, { final: true });
      if (result.stop === "end" && current.status === "uploading") {
        throw new AppError(
          "CHECKSUM_MISMATCH",
          `Cannot append to "${id}": the ${input.checksum.algorithm} checksum does not match`,
        );
      }
    } else if (result.stop === "limit") {
      await this.#ctx.storage.truncate(id, start);
      current = await this.#commitOffset({ ...current, offset: start }, start, { final: true });
      if (current.status === "uploading") {
        throw new AppError(
          "FILE_TOO_LARGE",
          `Cannot append to "${id}": the body is longer than the upload`,
        );
      }
    } else {
      // Stopped by expiry: the bytes count, but they must not renew the lease the sweep ends.
      current = await this.#commitOffset(current, result.offset, {
        final: true,
        renew: stop !== "expired",
        found: found(),
      });
    }
    // Paused, cancelled or expired by another node meanwhile: answered by that state.
    if (current.status !== "uploading") throw stateError(current);

    if (stop === "type") return await this.#completion.rejectContent(current);
    if (stop === "pause") {
      throw new AppError("UPLOAD_PAUSED", `Upload "${id}" was paused`, {
        headers: { "Upload-Offset": String(current.offset) },
      });
    }
    if (stop === "cancel") throw new AppError("UPLOAD_CANCELLED", `Upload "${id}" was cancelled`);
    if (stop === "expired") throw new AppError("UPLOAD_EXPIRED", `Upload "${id}" has expired`);
    if (stop === "superseded" || stop === "shutdown") {
      throw new AppError("UPLOAD_LOCKED", `Upload "${id}" was taken over by another request`);
    }
    if (result.stop === "interrupted" || result.stop === "aborted") {
      await this.#completion.fail(
        current,
        "UPLOAD_INTERRUPTED",
        `The request for "${id}" ended after ${current.offset} bytes`,
      );
      throw new AppError("UPLOAD_INTERRUPTED", `The request for "${id}" ended before its body`);
    }
    // The head check runs as bytes pass; reading the head back is left for a write that
    // carried none (a body that ended before the head and a later empty PATCH).
    if (
      !current.typeChecked && (current.offset >= SNIFF_BYTES || current.offset === current.size)
    ) {
      if (!(await this.#completion.typeOk(current))) {
        return await this.#completion.rejectContent(current);
      }
      current = await this.#ctx.store.getUpload(id) ?? current;
    }
    if (current.size !== null && current.offset === current.size) {
      return await this.#completion.complete(current);
    }
    if (current.sessionId && current.concat === "none") {
      await this.#events.publishProgress(current.sessionId, id);
    }
    return current;
  }

  /**
   * Commits `offset`, built from the STORED record and written only over its version: a
   * pause, cancel or expiry that another node wrote is never overwritten (issue #9). Returns
   * the stored record as it is afterwards; a status other than `uploading` ends the PATCH.
   */
  async #commitOffset(
    upload: UploadRecord,
    offset: number,
    options: { final?: boolean; renew?: boolean; found?: CheckedType | null },
  ): Promise<UploadRecord> {
    const { final = false, renew = true, found = null } = options;
    const now = this.#ctx.now();
    const speed = this.#ctx.speeds.record(upload.id, offset, now);
    const written = await this.#ctx.updateUpload(
      upload.id,
      (stored) =>
        stored.status !== "uploading" ? null : {
          ...(final ? doneWriting(stored) : stored),
          offset,
          speed,
          updatedAt: now,
          expiresAt: renew ? now + this.#ctx.config.sessionTimeoutMs : stored.expiresAt,
          ...(found ? { typeChecked: true, filetype: found.type, ext: found.ext } : {}),
        },
      upload,
    );
    const next = written.record ?? { ...upload, status: "cancelled" as const };
    if (!written.changed) return next;
    if (renew) await this.#ctx.touch(upload.sessionId);
    if (!final && upload.sessionId && upload.concat === "none") {
      await this.#events.publishProgress(upload.sessionId, next);
    }
    return next;
  }

  /**
   * The lease lapsed mid-write: another node may hold the upload now, so this PATCH writes
   * no more state (no commit, no truncate, no failure); the client resumes from HEAD.
   */
  #lapsed(id: string, cause: unknown): AppError {
    return new AppError(
      "UPLOAD_LOCKED",
      `The lock of upload "${id}" lapsed during the write; resume from HEAD`,
      { cause },
    );
  }

  /**
   * A write that failed leaves bytes past the committed offset (written, never synced nor
   * committed): they are dropped, so a full disk gets its space back and the client resumes
   * from HEAD's offset. The error is logged by the HTTP layer (every 5xx is).
   */
  async #storageFailed(upload: UploadRecord, error: unknown): Promise<AppError> {
    const full = isDiskFull(error);
    const code = full ? "STORAGE_FULL" : "STORAGE_ERROR";
    const message = full
      ? `Cannot store upload "${upload.id}": the disk is full (${upload.offset} bytes kept)`
      : `Cannot store upload "${upload.id}"`;
    // Cleanup failures travel with the cause, so the one log line of this event shows them.
    const problems: unknown[] = [];
    await this.#ctx.storage.truncate(upload.id, upload.offset).catch((e) => problems.push(e));
    await this.#completion.fail(upload, code, message).catch((e) => problems.push(e));
    const cause = problems.length
      ? new AggregateError([error, ...problems], "the write and its cleanup failed")
      : error;
    return new AppError(code, message, { cause });
  }
}

function equalBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
