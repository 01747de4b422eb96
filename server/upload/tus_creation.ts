import { checkSessionGrant } from "../auth/access.ts";
import { AppError } from "../errors.ts";
import type { UploadRecord } from "../state/store.ts";
import { sanitizeFilename } from "./file_types.ts";
import { declaredMediaType } from "./media_type.ts";
import type { Principal } from "./principal.ts";
import type { Concatenation } from "./concatenation.ts";
import { checkFileQuota } from "./quota.ts";
import { checkDeclaredType, checkSize } from "./upload_rules.ts";
import type { UploadContext } from "./context.ts";
import type { CreateUploadInput } from "./api.ts";
import type { DomainEvents } from "./domain_events.ts";
import type { Completion } from "./completion.ts";
import type { TusAccess } from "./tus_access.ts";
import { stagedKey } from "./storage_key.ts";

/** tus creation (POST): the record, the session's admission checks, concatenation finals. */
export class TusCreation {
  #ctx: UploadContext;
  #events: DomainEvents;
  #completion: Completion;
  #uploads: TusAccess;
  #concat: Concatenation;

  constructor(
    ctx: UploadContext,
    parts: {
      events: DomainEvents;
      completion: Completion;
      uploads: TusAccess;
      concat: Concatenation;
    },
  ) {
    this.#ctx = ctx;
    this.#events = parts.events;
    this.#completion = parts.completion;
    this.#uploads = parts.uploads;
    this.#concat = parts.concat;
  }

  async createUpload(principal: Principal, input: CreateUploadInput): Promise<UploadRecord> {
    const meta = input.metadata;
    const filename = sanitizeFilename(meta.filename ?? meta.name ?? "");
    const declared = declaredMediaType(meta);
    // Anonymous uploads share one identity, so the id is their only capability: never the
    // client's choice (a chosen id can be guessed, and its upload terminated by anyone).
    const chosen = principal.kind === "session" ? meta.fileId : undefined;
    const id = chosen !== undefined ? this.#ctx.checkId(chosen) : crypto.randomUUID();
    const now = this.#ctx.now();
    const record: UploadRecord = {
      id,
      sessionId: null,
      category: null,
      filename,
      filetype: declared.toLowerCase(),
      ext: "",
      size: input.length,
      offset: 0,
      status: "pending",
      metadata: input.rawMetadata,
      concat: input.concat.kind,
      parts: input.concat.kind === "final" ? input.concat.parts : [],
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      completedAt: null,
      expiresAt: now + this.#ctx.config.sessionTimeoutMs,
      storageKey: null,
      retryCount: 0,
      error: null,
      typeChecked: false,
    };
    if (input.concat.kind === "final") {
      await this.#concat.claim(
        input.concat.parts,
        (part) => this.#uploads.getUpload(principal, part),
        async (parts) => {
          // concatenation-unfinished: a part of deferred length leaves the final's open.
          record.size = parts.some((p) => p.size === null)
            ? null
            : parts.reduce((sum, p) => sum + (p.size ?? 0), 0);
          // Waiting on its parts: HEAD shows their progress, expiry follows the session.
          record.status = "uploading";
          record.startedAt = now;
          await this.#admit(principal, record, meta, new Set(record.parts));
        },
      );
      return (await this.#concat.joinWhenReady(record.id)) ?? record;
    }
    await this.#admit(principal, record, meta);
    if (record.sessionId && record.concat === "none") {
      await this.#events.publishProgress(record.sessionId, record.id);
    }
    if (record.size === 0) {
      // An empty part is complete at once; its content is checked as part of its final.
      if (record.concat === "partial") {
        return await this.#completion.complete({ ...record, startedAt: now });
      }
      return await this.#completion.finishEmpty(record);
    }
    return record;
  }

  /** The session's checks (open, category, size, type, file quota), then the insert. */
  async #admit(
    principal: Principal,
    record: UploadRecord,
    meta: Record<string, string>,
    consuming?: ReadonlySet<string>,
  ): Promise<void> {
    const declared = meta.filetype ?? meta.type ?? "";
    if (principal.kind === "anonymous") {
      checkSize(record.filename, record.size, this.#ctx.config.maxFileSize);
      record.typeChecked = true;
      await this.#insert(record);
      return;
    }
    checkSessionGrant(principal, meta.sessionId);
    const now = this.#ctx.now();
    let inserted = false;
    await this.#ctx.withSession(principal.sessionId, async (session) => {
      this.#ctx.checkOpen(session);
      if (meta.category !== undefined && meta.category !== session.category) {
        throw new AppError(
          "INVALID_REQUEST",
          `Category "${meta.category}" is not the session's "${session.category}"`,
        );
      }
      const limits = this.#ctx.config.categories[session.category];
      record.sessionId = session.id;
      record.category = session.category;
      checkSize(record.filename, record.size, limits.maxFileSize);
      if (record.concat !== "partial") {
        record.filetype = checkDeclaredType(record.filename, declared, limits);
      } else {
        // A part's bytes are checked as the final file they become (content sniff at the join).
        record.typeChecked = true;
      }
      // Not counting the record itself: after a conflict on the session this runs again.
      const uploads = (await this.#ctx.store.listUploads(session.id))
        .filter((u) => !inserted || u.id !== record.id);
      checkFileQuota(session, uploads, record, limits, consuming);
      if (!inserted) await this.#insert(record);
      inserted = true;
      return {
        ...session,
        status: "active",
        endedAt: null,
        lastActivity: now,
        expiresAt: now + this.#ctx.config.sessionTimeoutMs,
      };
    });
  }

  /**
   * Record first, then its part, both under the upload's lock: a part without a record is
   * then always a leftover that recovery may remove, and a recovery on another node skips
   * the new upload while its creator holds the lock (issue #9: recovery must not remove a
   * part another node is creating). The record is written only if absent (ifVersion 0): two
   * nodes creating one client-chosen id cannot both win. A non-partial upload is staged
   * under the key it will most likely finish as (S3 then copies nothing at completion).
   */
  async #insert(record: UploadRecord): Promise<void> {
    // tryLock, not a wait: creation may hold the session's lock, and a PATCH holding the
    // upload's lock takes the session's to touch it; an id someone writes exists anyway.
    const lock = await this.#ctx.tryLock(`upload:${record.id}`);
    if (!lock) throw new AppError("INVALID_REQUEST", `Upload "${record.id}" already exists`);
    try {
      if (!(await this.#ctx.store.putUpload(record, { ifVersion: 0 }))) {
        throw new AppError("INVALID_REQUEST", `Upload "${record.id}" already exists`);
      }
      try {
        if (record.concat === "partial") await this.#ctx.storage.create(record.id);
        else await this.#ctx.storage.create(record.id, { key: stagedKey(record) });
      } catch (error) {
        await this.#ctx.store.deleteUpload(record.id, { ifVersion: 1 }).catch(() => {});
        throw error;
      }
    } finally {
      await lock.release();
    }
  }
}
