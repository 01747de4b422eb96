import { type ErrorCode, RETRYABLE } from "../../protocol/errors.ts";
import { AppError } from "../errors.ts";
import type { SessionRecord, UploadRecord } from "../state/store.ts";
import { checkContent, SNIFF_BYTES } from "./content_check.ts";
import { isTerminal, visibleFiles } from "./snapshot.ts";
import type { Concatenation } from "./concatenation.ts";
import { isOpenPartial } from "./quota.ts";
import { sessionEndEvent } from "./session_end.ts";
import type { UploadContext } from "./context.ts";
import type { DomainEvents } from "./domain_events.ts";
import { storageKey } from "./storage_key.ts";
import { stateError } from "./state_errors.ts";

/**
 * How an upload ends: the content check, completion (finalize to its key), failure, and the
 * session's end once every file settled.
 */
export class Completion {
  #ctx: UploadContext;
  #events: DomainEvents;
  #concat: Concatenation;

  constructor(
    ctx: UploadContext,
    parts: { events: DomainEvents; concat: Concatenation },
  ) {
    this.#ctx = ctx;
    this.#events = parts.events;
    this.#concat = parts.concat;
  }

  async complete(upload: UploadRecord): Promise<UploadRecord> {
    const now = this.#ctx.now();
    if (upload.concat === "partial") {
      // A partial stays a part until a final upload concatenates it.
      const written = await this.#ctx.amend(upload, {
        status: "completed",
        completedAt: now,
        updatedAt: now,
        error: null,
      });
      if (!written.changed || !written.record) throw this.#ended(upload, written.record);
      const part = written.record;
      await this.#concat.partCompleted(part);
      this.#ctx.speeds.forget(upload.id);
      return part;
    }
    // The key fixed at creation (its day; the extension the checked content gives, which
    // is the staged one unless the bytes turned out another type: then finalize copies).
    const key = storageKey(upload, upload.createdAt);
    await this.#ctx.storage.finalize(upload.id, key);
    const written = await this.#ctx.amend(upload, {
      status: "completed",
      storageKey: key,
      completedAt: now,
      updatedAt: now,
      error: null,
    });
    if (!written.changed || !written.record) throw this.#ended(upload, written.record);
    const done = written.record;
    this.#ctx.speeds.forget(upload.id);
    if (!done.sessionId || done.concat === "partial") return done;
    const duration = Math.max(0.001, (now - (done.startedAt ?? done.createdAt)) / 1000);
    this.#ctx.bus.publish({
      name: "upload-completed",
      payload: {
        sessionId: done.sessionId,
        fileId: done.id,
        fileName: done.filename,
        fileSize: done.size ?? done.offset,
        uploadPath: key,
        endTime: new Date(now).toISOString(),
        duration: Math.round(duration * 1000) / 1000,
        finalSpeed: Math.round((done.size ?? done.offset) / duration),
      },
    });
    await this.#events.publishProgress(done.sessionId, done.id);
    await this.maybeCompleteSession(done.sessionId);
    return done;
  }

  async finishEmpty(record: UploadRecord): Promise<UploadRecord> {
    const now = this.#ctx.now();
    const started = { ...record, startedAt: now, typeChecked: true };
    if (
      record.category &&
      !(await checkContent(
        new Uint8Array(),
        record.filetype,
        this.#ctx.config.categories[record.category].allowedTypes,
      ))
    ) {
      return await this.rejectContent(started);
    }
    return await this.complete(started);
  }

  /** A joined final's content check and completion, as for any upload. */
  async finishJoined(joined: UploadRecord): Promise<UploadRecord> {
    if (!(await this.typeOk(joined))) return await this.rejectContent(joined);
    return await this.complete((await this.#ctx.store.getUpload(joined.id)) ?? joined);
  }

  async maybeCompleteSession(sessionId: string): Promise<void> {
    let completed: SessionRecord | null = null;
    let uploads: UploadRecord[] = [];
    const { changed } = await this.#ctx.changeSession(sessionId, async (session) => {
      completed = null; // asked again after a conflict: only the last answer counts
      if (session.status !== "active") return null;
      uploads = await this.#ctx.store.listUploads(sessionId);
      const files = visibleFiles(uploads);
      const ids = new Set(files.map((f) => f.id));
      // Open partial uploads are a file still on its way (tus-js-client parallelUploads).
      const waiting = session.announcedFileIds.some((id) => !ids.has(id)) ||
        uploads.some(isOpenPartial);
      if (files.length === 0 || waiting || !files.every(isTerminal)) return null;
      completed = { ...session, status: "completed", endedAt: this.#ctx.now() };
      return completed;
    });
    if (!completed || !changed) return;
    const session: SessionRecord = completed;
    this.#ctx.bus.publish(sessionEndEvent(uploads, session, session.endedAt ?? this.#ctx.now()));
    await this.#events.publishProgress(sessionId, undefined);
  }

  async fail(upload: UploadRecord, code: ErrorCode, message: string): Promise<void> {
    const now = this.#ctx.now();
    const retryable = RETRYABLE.has(code);
    const written = await this.#ctx.amend(upload, (stored) => ({
      status: "failed",
      error: { code, message },
      retryCount: retryable ? stored.retryCount + 1 : stored.retryCount,
      updatedAt: now,
    }));
    // Another node ended or paused it meanwhile: its state and its events stand.
    if (!written.changed || !written.record) return;
    const failed = written.record;
    // A resumed upload starts a new meter (restart); a failed one may never come back.
    this.#ctx.speeds.forget(upload.id);
    if (!upload.sessionId || upload.concat === "partial") return;
    this.#ctx.bus.publish({
      name: "upload-failed",
      payload: {
        sessionId: upload.sessionId,
        fileId: upload.id,
        fileName: upload.filename,
        error: { code, message },
        failedAt: new Date(now).toISOString(),
        // The budget is the client's to spend: an interruption stays resumable however often it
        // happens (a phone changing networks), so only the kind of failure decides.
        canRetry: retryable,
        retryCount: failed.retryCount,
        maxRetries: this.#ctx.config.maxRetries,
      },
    });
    await this.#events.publishProgress(upload.sessionId, upload.id);
    if (!retryable) await this.maybeCompleteSession(upload.sessionId);
  }

  async rejectContent(upload: UploadRecord): Promise<never> {
    await this.#ctx.storage.removePart(upload.id);
    const message = `The content of "${upload.filename}" is not an allowed type`;
    await this.fail({ ...upload, offset: 0 }, "FILE_TYPE_NOT_ALLOWED", message);
    throw new AppError("FILE_TYPE_NOT_ALLOWED", message);
  }

  /** Why a completion could not be written: the state another writer left. */
  #ended(mine: UploadRecord, stored: UploadRecord | null): AppError {
    if (!stored) return new AppError("FILE_NOT_FOUND", `Upload "${mine.id}" does not exist`);
    return stateError(stored, "complete");
  }

  async typeOk(upload: UploadRecord): Promise<boolean> {
    if (upload.typeChecked || !upload.category) return true;
    const head = await this.#ctx.storage.readHead(upload.id, SNIFF_BYTES);
    const allowed = this.#ctx.config.categories[upload.category].allowedTypes;
    const found = await checkContent(head, upload.filetype, allowed);
    if (found) {
      await this.#ctx.updateUpload(
        upload.id,
        (stored) => ({ ...stored, typeChecked: true, filetype: found.type, ext: found.ext }),
        upload,
      );
    }
    return found !== null;
  }
}
