import type {
  UploadCancelEvent,
  UploadPauseEvent,
  UploadResumeEvent,
  UploadStartEvent,
} from "../../protocol/events.ts";
import type { SessionSnapshot } from "../../protocol/session.ts";
import { RESUMABLE } from "../../protocol/status.ts";
import { AppError } from "../errors.ts";
import type { UploadRecord } from "../state/store.ts";
import { isFinalFailure, isTerminal, visibleFiles } from "./snapshot.ts";
import { filesHeld, isOpenPartial } from "./quota.ts";
import type { UploadContext } from "./context.ts";
import type { StopReason } from "./in_flight.ts";
import type { Sessions } from "./sessions.ts";
import type { DomainEvents } from "./domain_events.ts";
import type { Completion } from "./completion.ts";
import { terminalError } from "./state_errors.ts";
import { doneWriting } from "./writing.ts";

/**
 * The session's file commands (socket and HTTP): start, pause, resume, cancel, with the in-flight
 * PATCH stopped first.
 */
export class FileCommands {
  #ctx: UploadContext;
  #sessions: Sessions;
  #events: DomainEvents;
  #completion: Completion;

  constructor(
    ctx: UploadContext,
    parts: { sessions: Sessions; events: DomainEvents; completion: Completion },
  ) {
    this.#ctx = ctx;
    this.#sessions = parts.sessions;
    this.#events = parts.events;
    this.#completion = parts.completion;
  }

  async start(command: UploadStartEvent): Promise<SessionSnapshot> {
    for (const id of command.fileIds) this.#ctx.checkId(id);
    await this.#ctx.withSession(command.sessionId, async (session) => {
      this.#ctx.checkOpen(session);
      if (command.category !== session.category) {
        throw new AppError(
          "INVALID_REQUEST",
          `Cannot start uploads: category "${command.category}" is not the session's "${session.category}"`,
        );
      }
      const limits = this.#ctx.config.categories[session.category];
      const held = filesHeld(
        await this.#ctx.store.listUploads(session.id),
        [...new Set([...session.announcedFileIds, ...command.fileIds])],
        limits.maxFileSize,
      );
      const limit = limits.maxFiles;
      if (held > limit) {
        throw new AppError(
          "TOO_MANY_FILES",
          `Cannot start ${command.fileIds.length} files: the limit is ${limit}`,
        );
      }
      const announced = [...new Set([...session.announcedFileIds, ...command.fileIds])];
      return { ...session, announcedFileIds: announced, status: "active", endedAt: null };
    });
    return this.#sessions.snapshot(command.sessionId);
  }

  async pause(command: UploadPauseEvent): Promise<SessionSnapshot> {
    const reason = command.reason ?? "Paused";
    await this.forFiles(command.sessionId, command.fileId, "pause", async (upload, single) => {
      if (upload.status === "paused") return null;
      if (isTerminal(upload)) {
        if (single) throw terminalError(upload, "pause");
        return null;
      }
      const now = this.#ctx.now();
      const written = await this.#ctx.updateUpload(
        upload.id,
        (stored) =>
          stored.status === "paused" || isTerminal(stored)
            ? null
            : { ...stored, status: "paused" as const, updatedAt: now },
        upload,
      );
      if (!written.changed || !written.record) return null;
      const paused = written.record;
      this.#ctx.bus.publish({
        name: "upload-paused",
        payload: {
          sessionId: command.sessionId,
          fileId: upload.id,
          reason,
          pausedAt: new Date(now).toISOString(),
          uploadedBytes: paused.offset,
        },
      });
      return paused;
    });
    return this.#sessions.snapshot(command.sessionId, command.fileId);
  }

  async resume(command: UploadResumeEvent): Promise<SessionSnapshot> {
    await this.forFiles(command.sessionId, command.fileId, null, async (upload, single) => {
      if (!RESUMABLE.has(upload.status)) return null;
      if (isFinalFailure(upload) || isTerminal(upload)) {
        if (single) throw terminalError(upload, "resume");
        return null;
      }
      const now = this.#ctx.now();
      const written = await this.#ctx.updateUpload(
        upload.id,
        (stored) =>
          !RESUMABLE.has(stored.status) || isFinalFailure(stored) || isTerminal(stored)
            ? null
            : { ...doneWriting(stored), status: "uploading" as const, error: null, updatedAt: now },
        upload,
      );
      if (!written.changed || !written.record) return null;
      const resumed = written.record;
      this.#ctx.bus.publish({
        name: "upload-resumed",
        payload: {
          sessionId: command.sessionId,
          fileId: upload.id,
          resumedAt: new Date(now).toISOString(),
          uploadedBytes: resumed.offset,
        },
      });
      return resumed;
    });
    return this.#sessions.snapshot(command.sessionId, command.fileId);
  }

  async cancel(command: UploadCancelEvent): Promise<SessionSnapshot> {
    const reason = command.reason ?? "Cancelled";
    if (command.fileId === undefined) {
      await this.cancelSession(command.sessionId, reason);
    } else if (await this.#withdrawAnnounced(command.sessionId, command.fileId)) {
      await this.#completion.maybeCompleteSession(command.sessionId);
    } else {
      await this.forFiles(command.sessionId, command.fileId, "cancel", async (upload) => {
        if (upload.status === "cancelled") return null;
        if (upload.status === "completed") throw terminalError(upload, "cancel");
        return await this.cancelUpload(upload, reason, true);
      });
      await this.#completion.maybeCompleteSession(command.sessionId);
    }
    return this.#sessions.snapshot(command.sessionId, command.fileId);
  }

  /** A file announced by upload-start but never created is simply no longer expected. */
  async #withdrawAnnounced(sessionId: string, fileId: string): Promise<boolean> {
    if (await this.#ctx.store.getUpload(fileId)) return false;
    let withdrawn = false;
    await this.#ctx.withSession(sessionId, (session) => {
      withdrawn = false; // asked again after a conflict: only the last answer counts
      if (!session.announcedFileIds.includes(fileId)) return null;
      withdrawn = true;
      return {
        ...session,
        announcedFileIds: session.announcedFileIds.filter((id) => id !== fileId),
      };
    });
    return withdrawn;
  }

  async cancelSession(sessionId: string, reason = "Session cancelled"): Promise<void> {
    const session = await this.#ctx.session(sessionId);
    if (session.status === "cancelled") return;
    let uploadedBytes = 0;
    await this.forFiles(sessionId, undefined, "cancel", async (upload) => {
      if (upload.concat !== "partial") uploadedBytes += upload.offset;
      if (isTerminal(upload) && !isOpenPartial(upload)) return null;
      return await this.cancelUpload(upload, reason, false);
    }, true);
    const now = this.#ctx.now();
    const { changed } = await this.#ctx.changeSession(
      sessionId,
      (s) => (s.status === "cancelled" ? null : { ...s, status: "cancelled", endedAt: now }),
    );
    // Another node's cancel of the same session announced it already.
    if (!changed) return;
    this.#ctx.bus.publish({
      name: "upload-cancelled",
      payload: { sessionId, reason, cancelledAt: new Date(now).toISOString(), uploadedBytes },
    });
    await this.#events.publishProgress(sessionId, undefined);
  }

  async cancelUpload(
    upload: UploadRecord,
    reason: string,
    announce: boolean,
  ): Promise<UploadRecord> {
    const now = this.#ctx.now();
    // The record first: whoever sees the bytes gone must also see the upload cancelled.
    const written = await this.#ctx.updateUpload(
      upload.id,
      (stored) =>
        stored.status === "cancelled" ? null : { ...stored, status: "cancelled", updatedAt: now },
      upload,
    );
    await this.#ctx.storage.removePart(upload.id);
    const cancelled: UploadRecord = written.record ?? { ...upload, status: "cancelled" };
    this.#ctx.speeds.forget(upload.id);
    if (!written.changed) return cancelled;
    if (announce && upload.sessionId && upload.concat === "none") {
      this.#ctx.bus.publish({
        name: "upload-cancelled",
        payload: {
          sessionId: upload.sessionId,
          fileId: upload.id,
          reason,
          cancelledAt: new Date(now).toISOString(),
          uploadedBytes: cancelled.offset,
        },
      });
    }
    return cancelled;
  }

  /**
   * Runs `act` on one file (or every file of the session) with the file's in-flight PATCH
   * stopped first (`stop`) and its lock held, then publishes progress for changed files.
   */
  async forFiles(
    sessionId: string,
    fileId: string | undefined,
    stop: StopReason | null,
    act: (upload: UploadRecord, single: boolean) => Promise<UploadRecord | null>,
    withParts = false,
  ): Promise<void> {
    const session = await this.#ctx.session(sessionId);
    if (fileId !== undefined) this.#ctx.checkId(fileId);
    const all = fileId === undefined ? await this.#ctx.store.listUploads(sessionId) : [];
    const uploads = fileId === undefined
      ? (withParts ? all : visibleFiles(all))
      : [await this.#ctx.store.getUpload(fileId)].filter((u): u is UploadRecord =>
        u !== null && u.sessionId === sessionId
      );
    if (fileId !== undefined && uploads.length === 0) {
      throw new AppError("FILE_NOT_FOUND", `Upload "${fileId}" is not in session "${sessionId}"`);
    }
    if (stop !== "cancel" && session.status !== "active" && session.status !== "completed") {
      this.#ctx.checkOpen(session);
    }
    for (const upload of uploads) {
      if (stop) this.#ctx.inFlight.stop(upload.id, stop);
      const lock = await this.#ctx.lock(upload.id);
      let changed: UploadRecord | null;
      try {
        const fresh = (await this.#ctx.store.getUpload(upload.id)) ?? upload;
        changed = await act(fresh, fileId !== undefined);
      } finally {
        await lock.release();
      }
      if (changed && changed.concat === "none") {
        await this.#events.publishProgress(sessionId, changed.id);
      }
    }
    // Expiry is not activity: renewing the lease would postpone the session's deletion.
    if (stop !== "expired") await this.#ctx.touch(sessionId);
  }
}
