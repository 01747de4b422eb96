import type {
  Category,
  ClientType,
  UploadCancelEvent,
  UploadPauseEvent,
  UploadResumeEvent,
  UploadStartEvent,
} from "../../protocol/events.ts";
import type {
  CategoryLimits,
  CreateSessionResponse,
  SessionSnapshot,
} from "../../protocol/session.ts";
import type { ChecksumAlgorithm } from "../../protocol/tus.ts";
import { type ErrorCode, RETRYABLE } from "../../protocol/errors.ts";
import type { TokenSigner } from "../auth/token.ts";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";
import { acquireOrLocked } from "../lock/acquire.ts";
import type { Locker } from "../lock/locker.ts";
import type { SessionRecord, StateStore, UploadRecord } from "../state/store.ts";
import { isValidUploadId, type UploadStorage } from "../storage/storage.ts";
import { isDiskFull } from "../storage/disk_full.ts";
import type { SessionCommands } from "./commands.ts";
import type { EventBus } from "./event_bus.ts";
import { checkContent, SNIFF_BYTES } from "./content_check.ts";
import { extensionFor, sanitizeFilename } from "./file_types.ts";
import { declaredMediaType } from "./media_type.ts";
import type { Principal } from "./principal.ts";
import { buildSnapshot, isFinalFailure, isTerminal, visibleFiles } from "./snapshot.ts";
import { purgeEndedSessions } from "./retention.ts";
import { SpeedMeter } from "./speed.ts";
import { Concatenation } from "./concatenation.ts";
import { checkFileQuota, filesHeld, isOpenPartial } from "./quota.ts";
import { checkDeclaredType, checkSize } from "./upload_rules.ts";
import { sessionEndEvent } from "./session_end.ts";
import { progressDelta, sessionDelta } from "./progress_delta.ts";

export type ServiceConfig = Pick<
  Config,
  | "categories"
  | "maxFileSize"
  | "sessionTimeoutMs"
  | "allowAnonymous"
  | "maxRetries"
  | "tokenTtlMs"
  | "lockTimeoutMs"
  | "sessionRetentionMs"
>;

export interface ServiceDeps {
  store: StateStore;
  storage: UploadStorage;
  locker: Locker;
  bus: EventBus;
  tokens: TokenSigner;
  config: ServiceConfig;
  now?: () => number;
}

export interface CreateUploadInput {
  /** null with creation-defer-length. */
  length: number | null;
  metadata: Record<string, string>;
  rawMetadata: string;
  concat: { kind: "none" } | { kind: "partial" } | { kind: "final"; parts: string[] };
}

export interface PatchInput {
  offset: number;
  /** Content-Length, when the request has one. */
  contentLength: number | null;
  /** Upload-Length sent with a PATCH of a deferred-length upload. */
  uploadLength: number | null;
  checksum: { algorithm: ChecksumAlgorithm; digest: Uint8Array } | null;
}

/** Why the service stopped a PATCH in flight. */
type StopReason = "pause" | "cancel" | "superseded" | "type" | "expired" | "shutdown";

const TOUCH_EVERY_MS = 1000;

/**
 * The only writer of sessions and uploads. HTTP routes and socket commands call it; it
 * writes storage and state, then publishes domain events for the session rooms.
 */
export class UploadService implements SessionCommands {
  #store: StateStore;
  #storage: UploadStorage;
  #locker: Locker;
  #bus: EventBus;
  #tokens: TokenSigner;
  #config: ServiceConfig;
  #now: () => number;
  #active = new Map<string, AbortController>();
  #speeds = new SpeedMeter();
  #touched = new Map<string, number>();
  #concat: Concatenation;

  constructor(deps: ServiceDeps) {
    this.#store = deps.store;
    this.#storage = deps.storage;
    this.#locker = deps.locker;
    this.#bus = deps.bus;
    this.#tokens = deps.tokens;
    this.#config = deps.config;
    this.#now = deps.now ?? Date.now;
    this.#concat = new Concatenation({
      store: deps.store,
      storage: deps.storage,
      locker: deps.locker,
      lockTimeoutMs: deps.config.lockTimeoutMs,
      steps: {
        now: () => this.#now(),
        maxSize: (upload) => this.#maxSize(upload),
        fail: (upload, code, message) => this.#fail(upload, code, message),
        started: (upload) => this.#announceStarted(upload),
        finish: (joined) => this.#finishJoined(joined),
      },
    });
  }

  // ---------------------------------------------------------------- sessions

  async createSession(
    category: Category,
    clientType: ClientType,
  ): Promise<Omit<CreateSessionResponse, "uploadUrl">> {
    const now = this.#now();
    const session: SessionRecord = {
      id: crypto.randomUUID(),
      category,
      clientType,
      status: "active",
      createdAt: now,
      lastActivity: now,
      expiresAt: now + this.#config.sessionTimeoutMs,
      announcedFileIds: [],
      endedAt: null,
    };
    await this.#store.putSession(session);
    const token = await this.#tokens.sign({
      sessionId: session.id,
      expiresAt: now + this.#config.tokenTtlMs,
    });
    return {
      sessionId: session.id,
      token,
      expiresAt: new Date(session.expiresAt).toISOString(),
      limits: this.#config.categories[category],
    };
  }

  /** The principal of a bearer token (null header: anonymous, if allowed). */
  async principal(token: string | null): Promise<Principal> {
    if (token === null) {
      if (this.#config.allowAnonymous) return { kind: "anonymous" };
      throw new AppError(
        "INSUFFICIENT_PERMISSIONS",
        "A session token is required (Authorization: Bearer)",
      );
    }
    const claims = await this.#tokens.verify(token);
    if (!claims) {
      throw new AppError("INSUFFICIENT_PERMISSIONS", "The session token is invalid or expired");
    }
    return { kind: "session", sessionId: claims.sessionId };
  }

  async authorize(token: string, sessionId: string): Promise<void> {
    const claims = await this.#tokens.verify(token);
    if (!claims || claims.sessionId !== sessionId) {
      throw new AppError(
        "INSUFFICIENT_PERMISSIONS",
        `The token does not grant access to session "${sessionId}"`,
      );
    }
    await this.#session(sessionId);
  }

  /** Every category's limits (`GET /api/categories`). */
  get categories(): ServiceConfig["categories"] {
    return this.#config.categories;
  }

  /** The session's category and its limits (`GET /api/sessions/:id`). */
  async limitsOf(sessionId: string): Promise<{ category: Category; limits: CategoryLimits }> {
    const { category } = await this.#session(sessionId);
    return { category, limits: this.#config.categories[category] };
  }

  async snapshot(sessionId: string, current?: string): Promise<SessionSnapshot> {
    const session = await this.#session(sessionId);
    const uploads = await this.#store.listUploads(sessionId);
    const options: Parameters<typeof buildSnapshot>[2] = {
      now: this.#now(),
      speeds: this.#speeds.snapshot(),
    };
    if (current !== undefined) options.current = current;
    return buildSnapshot(session, uploads, options);
  }

  async start(command: UploadStartEvent): Promise<SessionSnapshot> {
    for (const id of command.fileIds) this.#checkId(id);
    await this.#withSession(command.sessionId, async (session) => {
      this.#checkOpen(session);
      if (command.category !== session.category) {
        throw new AppError(
          "INVALID_REQUEST",
          `Cannot start uploads: category "${command.category}" is not the session's "${session.category}"`,
        );
      }
      const limits = this.#config.categories[session.category];
      const held = filesHeld(
        await this.#store.listUploads(session.id),
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
    return this.snapshot(command.sessionId);
  }

  async pause(command: UploadPauseEvent): Promise<SessionSnapshot> {
    const reason = command.reason ?? "Paused";
    await this.#forFiles(command.sessionId, command.fileId, "pause", async (upload, single) => {
      if (upload.status === "paused") return null;
      if (isTerminal(upload)) {
        if (single) throw this.#terminalError(upload, "pause");
        return null;
      }
      const now = this.#now();
      const paused = { ...upload, status: "paused" as const, updatedAt: now };
      await this.#store.putUpload(paused);
      this.#bus.publish({
        name: "upload-paused",
        payload: {
          sessionId: command.sessionId,
          fileId: upload.id,
          reason,
          pausedAt: new Date(now).toISOString(),
          uploadedBytes: upload.offset,
        },
      });
      return paused;
    });
    return this.snapshot(command.sessionId, command.fileId);
  }

  async resume(command: UploadResumeEvent): Promise<SessionSnapshot> {
    await this.#forFiles(command.sessionId, command.fileId, null, async (upload, single) => {
      if (upload.status !== "paused" && upload.status !== "failed") return null;
      if (isFinalFailure(upload) || isTerminal(upload)) {
        if (single) throw this.#terminalError(upload, "resume");
        return null;
      }
      const now = this.#now();
      const resumed = { ...upload, status: "uploading" as const, error: null, updatedAt: now };
      await this.#store.putUpload(resumed);
      this.#bus.publish({
        name: "upload-resumed",
        payload: {
          sessionId: command.sessionId,
          fileId: upload.id,
          resumedAt: new Date(now).toISOString(),
          uploadedBytes: upload.offset,
        },
      });
      return resumed;
    });
    return this.snapshot(command.sessionId, command.fileId);
  }

  async cancel(command: UploadCancelEvent): Promise<SessionSnapshot> {
    const reason = command.reason ?? "Cancelled";
    if (command.fileId === undefined) {
      await this.cancelSession(command.sessionId, reason);
    } else if (await this.#withdrawAnnounced(command.sessionId, command.fileId)) {
      await this.#maybeCompleteSession(command.sessionId);
    } else {
      await this.#forFiles(command.sessionId, command.fileId, "cancel", async (upload) => {
        if (upload.status === "cancelled") return null;
        if (upload.status === "completed") throw this.#terminalError(upload, "cancel");
        return await this.#cancelUpload(upload, reason, true);
      });
      await this.#maybeCompleteSession(command.sessionId);
    }
    return this.snapshot(command.sessionId, command.fileId);
  }

  /** A file announced by upload-start but never created is simply no longer expected. */
  async #withdrawAnnounced(sessionId: string, fileId: string): Promise<boolean> {
    if (await this.#store.getUpload(fileId)) return false;
    let withdrawn = false;
    await this.#withSession(sessionId, (session) => {
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
    const session = await this.#session(sessionId);
    if (session.status === "cancelled") return;
    let uploadedBytes = 0;
    await this.#forFiles(sessionId, undefined, "cancel", async (upload) => {
      if (upload.concat !== "partial") uploadedBytes += upload.offset;
      if (isTerminal(upload) && !isOpenPartial(upload)) return null;
      return await this.#cancelUpload(upload, reason, false);
    }, true);
    const now = this.#now();
    await this.#withSession(sessionId, (s) => ({ ...s, status: "cancelled", endedAt: now }));
    this.#bus.publish({
      name: "upload-cancelled",
      payload: { sessionId, reason, cancelledAt: new Date(now).toISOString(), uploadedBytes },
    });
    await this.#publishProgress(sessionId, undefined);
  }

  // ---------------------------------------------------------------- tus

  async createUpload(principal: Principal, input: CreateUploadInput): Promise<UploadRecord> {
    const meta = input.metadata;
    const filename = sanitizeFilename(meta.filename ?? meta.name ?? "");
    const declared = declaredMediaType(meta);
    // Anonymous uploads share one identity, so the id is their only capability: never the
    // client's choice (a chosen id can be guessed, and its upload terminated by anyone).
    const chosen = principal.kind === "session" ? meta.fileId : undefined;
    const id = chosen !== undefined ? this.#checkId(chosen) : crypto.randomUUID();
    const now = this.#now();
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
      expiresAt: now + this.#config.sessionTimeoutMs,
      storageKey: null,
      retryCount: 0,
      error: null,
      typeChecked: false,
    };
    if (input.concat.kind === "final") {
      await this.#concat.claim(
        input.concat.parts,
        (part) => this.getUpload(principal, part),
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
      await this.#publishProgress(record.sessionId, record.id);
    }
    if (record.size === 0) {
      // An empty part is complete at once; its content is checked as part of its final.
      if (record.concat === "partial") return await this.#complete({ ...record, startedAt: now });
      return await this.#finishEmpty(record);
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
      checkSize(record.filename, record.size, this.#config.maxFileSize);
      record.typeChecked = true;
      await this.#insert(record);
      return;
    }
    if (meta.sessionId !== undefined && meta.sessionId !== principal.sessionId) {
      throw new AppError(
        "INSUFFICIENT_PERMISSIONS",
        `The token does not grant access to session "${meta.sessionId}"`,
      );
    }
    const now = this.#now();
    await this.#withSession(principal.sessionId, async (session) => {
      this.#checkOpen(session);
      if (meta.category !== undefined && meta.category !== session.category) {
        throw new AppError(
          "INVALID_REQUEST",
          `Category "${meta.category}" is not the session's "${session.category}"`,
        );
      }
      const limits = this.#config.categories[session.category];
      record.sessionId = session.id;
      record.category = session.category;
      checkSize(record.filename, record.size, limits.maxFileSize);
      if (record.concat !== "partial") {
        record.filetype = checkDeclaredType(record.filename, declared, limits);
      } else {
        // A part's bytes are checked as the final file they become (content sniff at the join).
        record.typeChecked = true;
      }
      const uploads = await this.#store.listUploads(session.id);
      checkFileQuota(session, uploads, record, limits, consuming);
      await this.#insert(record);
      return {
        ...session,
        status: "active",
        endedAt: null,
        lastActivity: now,
        expiresAt: now + this.#config.sessionTimeoutMs,
      };
    });
  }

  /** The upload as the principal may see it (HEAD, PATCH, DELETE, download). */
  async getUpload(principal: Principal, id: string): Promise<UploadRecord> {
    if (!isValidUploadId(id)) {
      throw new AppError("FILE_NOT_FOUND", `Upload "${id.slice(0, 80)}" does not exist`);
    }
    const upload = await this.#store.getUpload(id);
    if (!upload) throw new AppError("FILE_NOT_FOUND", `Upload "${id}" does not exist`);
    const owner = upload.sessionId;
    if (principal.kind === "anonymous" ? owner !== null : owner !== principal.sessionId) {
      throw new AppError(
        "INSUFFICIENT_PERMISSIONS",
        `The token does not grant access to upload "${id}"`,
      );
    }
    if (upload.status === "cancelled") {
      throw new AppError("UPLOAD_CANCELLED", `Upload "${id}" was cancelled`);
    }
    if (upload.status !== "completed" && await this.#expired(upload)) {
      throw new AppError("UPLOAD_EXPIRED", `Upload "${id}" has expired`);
    }
    return upload;
  }

  /** When an unfinished upload expires: its session's expiry, or its own when anonymous. */
  async expiresAt(upload: UploadRecord): Promise<number> {
    if (!upload.sessionId) return upload.expiresAt;
    return (await this.#store.getSession(upload.sessionId))?.expiresAt ?? upload.expiresAt;
  }

  async patch(
    principal: Principal,
    id: string,
    body: ReadableStream<Uint8Array>,
    input: PatchInput,
  ): Promise<UploadRecord> {
    await this.getUpload(principal, id);
    const lock = await this.#lock(id);
    try {
      return await this.#patchLocked(principal, id, body, input);
    } finally {
      await lock.release();
    }
  }

  async #patchLocked(
    principal: Principal,
    id: string,
    body: ReadableStream<Uint8Array>,
    input: PatchInput,
  ): Promise<UploadRecord> {
    let upload = await this.getUpload(principal, id);
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
    if (upload.sessionId) this.#checkOpen(await this.#session(upload.sessionId));
    // tus core: "If the offsets do not match, the Server MUST respond with 409 Conflict without modifying the upload resource."
    if (input.offset !== upload.offset) {
      throw new AppError(
        "OFFSET_MISMATCH",
        `Cannot append to "${id}": offset ${input.offset} does not match ${upload.offset}`,
        {
          headers: { "Upload-Offset": String(upload.offset) },
        },
      );
    }
    if (input.uploadLength !== null) {
      upload = await this.#setDeferredLength(upload, input.uploadLength);
    }
    const max = this.#maxSize(upload);
    const room = (upload.size ?? max) - upload.offset;
    if (input.contentLength !== null && input.contentLength > room) {
      throw new AppError(
        "FILE_TOO_LARGE",
        `Cannot append ${input.contentLength} bytes to "${id}": only ${room} remain`,
      );
    }
    if (upload.status === "completed") return upload;

    const start = upload.offset;
    const now = this.#now();
    const firstStart = upload.startedAt === null;
    upload = {
      ...upload,
      status: "uploading",
      error: null,
      startedAt: upload.startedAt ?? now,
      updatedAt: now,
    };
    await this.#store.putUpload(upload);
    await this.#touch(upload.sessionId);
    this.#speeds.restart(id, start, now);
    if (upload.sessionId && upload.concat === "none") {
      if (firstStart) {
        this.#bus.publish({
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
      await this.#publishProgress(upload.sessionId, id);
    }

    const controller = new AbortController();
    this.#active.set(id, controller);
    let current = upload;
    let chain = Promise.resolve();
    const checkpoint = (offset: number) => {
      chain = chain.then(async () => {
        if (offset <= current.offset || current.status !== "uploading") return;
        current = await this.#commitOffset(current, offset);
        if (current.status !== "uploading") controller.abort("superseded" satisfies StopReason);
        if (!current.typeChecked && offset >= SNIFF_BYTES && !(await this.#typeOk(current))) {
          controller.abort("type" satisfies StopReason);
        }
      });
      return chain;
    };
    let result;
    try {
      const options: Parameters<UploadStorage["write"]>[2] = {
        offset: start,
        maxBytes: room,
        signal: controller.signal,
        onCheckpoint: checkpoint,
      };
      if (input.contentLength !== null) options.expectedBytes = input.contentLength;
      if (input.checksum) options.checksum = input.checksum.algorithm;
      result = await this.#storage.write(id, body, options);
      await chain;
    } catch (error) {
      await chain.catch(() => {});
      this.#active.delete(id);
      throw await this.#storageFailed(current, error);
    }
    this.#active.delete(id);
    const stop = controller.signal.aborted ? (controller.signal.reason as StopReason) : null;

    if (
      input.checksum && (result.stop !== "end" || !equalBytes(result.digest, input.checksum.digest))
    ) {
      // tus checksum: "the Server MUST respond with 460 Checksum Mismatch" and the chunk is discarded.
      await this.#storage.truncate(id, start);
      current = await this.#commitOffset({ ...current, offset: start }, start, true);
      if (result.stop === "end") {
        throw new AppError(
          "CHECKSUM_MISMATCH",
          `Cannot append to "${id}": the ${input.checksum.algorithm} checksum does not match`,
        );
      }
    } else if (result.stop === "limit") {
      await this.#storage.truncate(id, start);
      current = await this.#commitOffset({ ...current, offset: start }, start, true);
      throw new AppError(
        "FILE_TOO_LARGE",
        `Cannot append to "${id}": the body is longer than the upload`,
      );
    } else {
      // Stopped by expiry: the bytes count, but they must not renew the lease the sweep ends.
      current = await this.#commitOffset(current, result.offset, true, stop !== "expired");
    }
    if (current.status !== "uploading") throw this.#terminalError(current, "append to");

    if (stop === "type") return await this.#rejectContent(current);
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
      await this.#fail(
        current,
        "UPLOAD_INTERRUPTED",
        `The request for "${id}" ended after ${current.offset} bytes`,
      );
      throw new AppError("UPLOAD_INTERRUPTED", `The request for "${id}" ended before its body`);
    }
    if (
      !current.typeChecked && (current.offset >= SNIFF_BYTES || current.offset === current.size)
    ) {
      if (!(await this.#typeOk(current))) return await this.#rejectContent(current);
      current = await this.#store.getUpload(id) ?? current;
    }
    if (current.size !== null && current.offset === current.size) {
      return await this.#complete(current);
    }
    if (current.sessionId && current.concat === "none") {
      await this.#publishProgress(current.sessionId, id);
    }
    return current;
  }

  /** tus termination: removes the upload and its bytes, finished or not. */
  async terminate(principal: Principal, id: string): Promise<void> {
    const upload = await this.getUpload(principal, id);
    this.#active.get(id)?.abort("cancel" satisfies StopReason);
    const lock = await this.#lock(id);
    try {
      const fresh = (await this.#store.getUpload(id)) ?? upload;
      if (fresh.status === "completed" && fresh.storageKey) {
        await this.#storage.removeFile(fresh.storageKey);
      }
      await this.#cancelUpload(fresh, "Terminated", true);
    } finally {
      await lock.release();
    }
    // A final waiting on a terminated part can never be joined: it fails now, not at expiry.
    if (upload.concat === "partial") {
      for (const final of await this.#concat.finalsWaitingOn(upload)) {
        await this.#storage.removePart(final.id);
        await this.#fail(final, "CONCAT_PART_INVALID", `Partial upload "${id}" was terminated`);
      }
    }
    if (upload.sessionId) await this.#maybeCompleteSession(upload.sessionId);
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
    const file = await this.#storage.read(upload.storageKey, range);
    return { upload, ...file };
  }

  // ---------------------------------------------------------------- maintenance

  /** After a crash: drop torn tails, finish renames, mark interrupted uploads, drop orphans. */
  async recover(): Promise<void> {
    const unfinished = await this.#store.listExpiredUploads(Number.MAX_SAFE_INTEGER);
    const known = new Set<string>();
    const finals: string[] = [];
    for (const upload of unfinished) {
      known.add(upload.id);
      if (upload.status === "cancelled" || isFinalFailure(upload)) continue;
      const size = await this.#storage.partSize(upload.id).catch(() => null);
      if (size === null) {
        if (upload.offset === upload.size && upload.storageKey === null) {
          await this.#recoverFinal(upload);
        }
        continue;
      }
      // A final is never PATCHed: it waits for its parts, or its join was cut short.
      if (upload.concat === "final") {
        if (upload.status !== "failed") finals.push(upload.id);
        continue;
      }
      if (size > upload.offset) await this.#storage.truncate(upload.id, upload.offset);
      if (upload.status === "uploading") {
        await this.#store.putUpload({
          ...upload,
          status: "failed",
          error: { code: "UPLOAD_INTERRUPTED", message: "The server restarted during the upload" },
        });
      }
    }
    for (const id of await this.#storage.listParts()) {
      if (known.has(id)) continue;
      const record = await this.#store.getUpload(id);
      // A completed partial upload keeps its bytes until a final joins them (or it expires).
      if (record?.concat === "partial" && isOpenPartial(record)) continue;
      if (!record || record.status === "completed" || record.status === "cancelled") {
        await this.#storage.removePart(id);
      }
    }
    for (const id of finals) {
      await this.#concat.joinWhenReady(id).catch((e) => {
        if (!(e instanceof AppError)) console.error(`Cannot finish final upload "${id}":`, e);
      });
    }
  }

  /** Expires idle sessions and anonymous uploads; removes their partial bytes. */
  async sweep(): Promise<void> {
    const now = this.#now();
    for (const session of await this.#store.listExpiredSessions(now)) {
      await this.#expireSession(session);
    }
    for (const upload of await this.#store.listExpiredUploads(now)) {
      if (upload.sessionId) {
        const session = await this.#store.getSession(upload.sessionId);
        if (session?.status === "active") continue;
      }
      if (upload.status === "completed") {
        // An anonymous partial no final joined (a session's go with their session).
        await this.#concat.expireUnjoined(upload.id).catch((error) =>
          console.error(`Cannot expire partial upload "${upload.id}" now; next sweep:`, error)
        );
      } else if (upload.status !== "failed" && upload.status !== "cancelled") {
        // One upload whose writer will not let go must not keep the others from expiring.
        await this.#expireUpload(upload.id).catch((error) =>
          console.error(`Cannot expire upload "${upload.id}" now; next sweep:`, error)
        );
      } else if (upload.expiresAt + this.#config.sessionRetentionMs <= now) {
        // Kept until now so clients got 410, not 404.
        await this.#storage.removePart(upload.id);
        await this.#store.deleteUpload(upload.id);
        this.#speeds.forget(upload.id);
      }
    }
    await purgeEndedSessions(
      {
        store: this.#store,
        storage: this.#storage,
        lockSession: (id) =>
          acquireOrLocked(this.#locker, `session:${id}`, `Session "${id}"`, {
            timeoutMs: this.#config.lockTimeoutMs,
          }),
        forget: (sessionId, uploadIds) => {
          this.#touched.delete(sessionId);
          for (const id of uploadIds) this.#speeds.forget(id);
        },
      },
      now,
      this.#config.sessionRetentionMs,
    );
    // An entry older than the touch interval throttles nothing: it only takes room.
    for (const [id, at] of this.#touched) {
      if (now - at >= TOUCH_EVERY_MS) this.#touched.delete(id);
    }
  }

  /** What the service holds in memory, for tests and the soak bench: it must not only grow. */
  stateSizes(): { speedMeters: number; touchedSessions: number; activeWrites: number } {
    return {
      speedMeters: this.#speeds.size,
      touchedSessions: this.#touched.size,
      activeWrites: this.#active.size,
    };
  }

  /**
   * Like session expiry: stop the PATCH in flight first, then take the upload's lock, so the
   * part is never removed under a writer that would then commit an offset over a missing file.
   */
  async #expireUpload(id: string): Promise<void> {
    this.#active.get(id)?.abort("expired" satisfies StopReason);
    const lock = await this.#lock(id);
    try {
      const fresh = await this.#store.getUpload(id);
      if (!fresh || isSettled(fresh)) return;
      await this.#storage.removePart(id);
      await this.#store.putUpload({
        ...fresh,
        status: "failed",
        error: { code: "UPLOAD_EXPIRED", message: "The upload expired before it was finished" },
        updatedAt: this.#now(),
      });
      this.#speeds.forget(id);
    } finally {
      await lock.release();
    }
  }

  /** Stops every PATCH in flight (what arrived is committed) for a clean shutdown. */
  stopAll(): void {
    for (const controller of this.#active.values()) {
      controller.abort("shutdown" satisfies StopReason);
    }
  }

  // ---------------------------------------------------------------- internals

  async #session(id: string): Promise<SessionRecord> {
    const session = await this.#store.getSession(id);
    if (!session) throw new AppError("SESSION_NOT_FOUND", `Session "${id}" does not exist`);
    return session;
  }

  #checkOpen(session: SessionRecord): void {
    if (session.status === "expired") {
      throw new AppError("SESSION_TIMEOUT", `Session "${session.id}" has expired`);
    }
    if (session.status === "cancelled") {
      throw new AppError("SESSION_CLOSED", `Session "${session.id}" was cancelled`);
    }
  }

  #checkId(id: string): string {
    if (!isValidUploadId(id)) {
      throw new AppError(
        "INVALID_REQUEST",
        `Invalid file id "${id.slice(0, 80)}": use 1-64 letters, digits, - or _`,
      );
    }
    return id;
  }

  #terminalError(upload: UploadRecord, action: string): AppError {
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

  #maxSize(upload: UploadRecord): number {
    return upload.category
      ? this.#config.categories[upload.category].maxFileSize
      : this.#config.maxFileSize;
  }

  async #expired(upload: UploadRecord): Promise<boolean> {
    const code = upload.error?.code;
    if (code === "SESSION_TIMEOUT" || code === "UPLOAD_EXPIRED") return true;
    return (await this.expiresAt(upload)) <= this.#now();
  }

  async #lock(id: string) {
    return await acquireOrLocked(this.#locker, `upload:${id}`, `Upload "${id}"`, {
      timeoutMs: this.#config.lockTimeoutMs,
      onReleaseRequest: () => this.#active.get(id)?.abort("superseded" satisfies StopReason),
    });
  }

  /** Read-modify-write of a session under its lock; `update` may return null to keep it. */
  async #withSession(
    id: string,
    update: (
      session: SessionRecord,
    ) => Promise<SessionRecord | null | void> | SessionRecord | null | void,
  ): Promise<SessionRecord> {
    const lock = await acquireOrLocked(this.#locker, `session:${id}`, `Session "${id}"`, {
      timeoutMs: this.#config.lockTimeoutMs,
    });
    try {
      const session = await this.#session(id);
      const next = await update(session);
      if (next) await this.#store.putSession(next);
      if (next) this.#bus.publishProgress(sessionDelta(next, this.#now()));
      return next ?? session;
    } finally {
      await lock.release();
    }
  }

  async #touch(sessionId: string | null): Promise<void> {
    if (!sessionId) return;
    const now = this.#now();
    if (now - (this.#touched.get(sessionId) ?? 0) < TOUCH_EVERY_MS) return;
    this.#touched.set(sessionId, now);
    await this.#withSession(
      sessionId,
      (s) =>
        s.status === "expired"
          ? null
          : { ...s, lastActivity: now, expiresAt: now + this.#config.sessionTimeoutMs },
    );
  }

  async #insert(record: UploadRecord): Promise<void> {
    const existing = await this.#store.getUpload(record.id);
    if (existing) throw new AppError("INVALID_REQUEST", `Upload "${record.id}" already exists`);
    await this.#storage.create(record.id);
    await this.#store.putUpload(record);
  }

  async #commitOffset(
    upload: UploadRecord,
    offset: number,
    final = false,
    renew = true,
  ): Promise<UploadRecord> {
    // A PATCH that was stopped must not resurrect an upload someone else ended meanwhile
    // (expired, cancelled, failed): its record, not the writer's copy, is the truth.
    const stored = await this.#store.getUpload(upload.id);
    if (!stored || (isSettled(stored) && stored.status !== upload.status)) {
      return stored ?? { ...upload, status: "cancelled" };
    }
    const now = this.#now();
    const next = {
      ...upload,
      offset,
      updatedAt: now,
      expiresAt: renew ? now + this.#config.sessionTimeoutMs : upload.expiresAt,
    };
    await this.#store.putUpload(next);
    this.#speeds.record(upload.id, offset, now);
    if (renew) await this.#touch(upload.sessionId);
    if (!final && upload.sessionId && upload.concat === "none") {
      await this.#publishProgress(upload.sessionId, next);
    }
    return next;
  }

  async #setDeferredLength(upload: UploadRecord, length: number): Promise<UploadRecord> {
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
    checkSize(upload.filename, length, this.#maxSize(upload));
    const next = { ...upload, size: length };
    await this.#store.putUpload(next);
    return next;
  }

  async #typeOk(upload: UploadRecord): Promise<boolean> {
    if (upload.typeChecked || !upload.category) return true;
    const head = await this.#storage.readHead(upload.id, SNIFF_BYTES);
    const allowed = this.#config.categories[upload.category].allowedTypes;
    const found = await checkContent(head, upload.filetype, allowed);
    if (found) {
      await this.#store.putUpload({
        ...upload,
        typeChecked: true,
        filetype: found.type,
        ext: found.ext,
      });
    }
    return found !== null;
  }

  async #rejectContent(upload: UploadRecord): Promise<never> {
    await this.#storage.removePart(upload.id);
    const message = `The content of "${upload.filename}" is not an allowed type`;
    await this.#fail({ ...upload, offset: 0 }, "FILE_TYPE_NOT_ALLOWED", message);
    throw new AppError("FILE_TYPE_NOT_ALLOWED", message);
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
    await this.#storage.truncate(upload.id, upload.offset).catch((e) => problems.push(e));
    await this.#fail(upload, code, message).catch((e) => problems.push(e));
    const cause = problems.length
      ? new AggregateError([error, ...problems], "the write and its cleanup failed")
      : error;
    return new AppError(code, message, { cause });
  }

  async #fail(upload: UploadRecord, code: ErrorCode, message: string): Promise<void> {
    const now = this.#now();
    const retryable = RETRYABLE.has(code);
    const failed: UploadRecord = {
      ...upload,
      status: "failed",
      error: { code, message },
      retryCount: retryable ? upload.retryCount + 1 : upload.retryCount,
      updatedAt: now,
    };
    await this.#store.putUpload(failed);
    // A resumed upload starts a new meter (restart); a failed one may never come back.
    this.#speeds.forget(upload.id);
    if (!upload.sessionId || upload.concat === "partial") return;
    this.#bus.publish({
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
        maxRetries: this.#config.maxRetries,
      },
    });
    await this.#publishProgress(upload.sessionId, upload.id);
    if (!retryable) await this.#maybeCompleteSession(upload.sessionId);
  }

  #storageKey(upload: UploadRecord, at: number): string {
    const d = new Date(at);
    const pad = (n: number) => String(n).padStart(2, "0");
    const ext = upload.ext || extensionFor(upload.filetype);
    return `${upload.category ?? "anonymous"}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${
      pad(d.getUTCDate())
    }/${upload.id}${ext}`;
  }

  async #complete(upload: UploadRecord): Promise<UploadRecord> {
    const now = this.#now();
    if (upload.concat === "partial") {
      // A partial stays a part until a final upload concatenates it.
      const part: UploadRecord = {
        ...upload,
        status: "completed",
        completedAt: now,
        updatedAt: now,
        error: null,
      };
      await this.#store.putUpload(part);
      await this.#concat.partCompleted(part);
      this.#speeds.forget(upload.id);
      return part;
    }
    const key = this.#storageKey(upload, now);
    await this.#storage.finalize(upload.id, key);
    const done: UploadRecord = {
      ...upload,
      status: "completed",
      storageKey: key,
      completedAt: now,
      updatedAt: now,
      error: null,
    };
    await this.#store.putUpload(done);
    this.#speeds.forget(upload.id);
    if (!done.sessionId || done.concat === "partial") return done;
    const duration = Math.max(0.001, (now - (done.startedAt ?? done.createdAt)) / 1000);
    this.#bus.publish({
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
    await this.#publishProgress(done.sessionId, done.id);
    await this.#maybeCompleteSession(done.sessionId);
    return done;
  }

  async #finishEmpty(record: UploadRecord): Promise<UploadRecord> {
    const now = this.#now();
    const started = { ...record, startedAt: now, typeChecked: true };
    if (
      record.category &&
      !(await checkContent(
        new Uint8Array(),
        record.filetype,
        this.#config.categories[record.category].allowedTypes,
      ))
    ) {
      return await this.#rejectContent(started);
    }
    return await this.#complete(started);
  }

  /** A joined final's content check and completion, as for any upload. */
  async #finishJoined(joined: UploadRecord): Promise<UploadRecord> {
    if (!(await this.#typeOk(joined))) return await this.#rejectContent(joined);
    return await this.#complete((await this.#store.getUpload(joined.id)) ?? joined);
  }

  #announceStarted(upload: UploadRecord): void {
    if (!upload.sessionId) return;
    this.#bus.publish({
      name: "upload-started",
      payload: {
        sessionId: upload.sessionId,
        fileId: upload.id,
        fileName: upload.filename,
        fileSize: upload.size ?? 0,
        startTime: new Date(upload.startedAt ?? this.#now()).toISOString(),
      },
    });
  }

  async #recoverFinal(upload: UploadRecord): Promise<void> {
    for (let days = 0; days <= 1; days++) {
      const key = this.#storageKey(upload, upload.updatedAt + days * 86_400_000);
      if ((await this.#storage.stat(key)) === upload.size) {
        await this.#store.putUpload({
          ...upload,
          status: "completed",
          storageKey: key,
          completedAt: upload.updatedAt,
        });
        return;
      }
    }
  }

  async #cancelUpload(
    upload: UploadRecord,
    reason: string,
    announce: boolean,
  ): Promise<UploadRecord> {
    const now = this.#now();
    await this.#storage.removePart(upload.id);
    const cancelled: UploadRecord = { ...upload, status: "cancelled", updatedAt: now };
    await this.#store.putUpload(cancelled);
    this.#speeds.forget(upload.id);
    if (announce && upload.sessionId && upload.concat === "none") {
      this.#bus.publish({
        name: "upload-cancelled",
        payload: {
          sessionId: upload.sessionId,
          fileId: upload.id,
          reason,
          cancelledAt: new Date(now).toISOString(),
          uploadedBytes: upload.offset,
        },
      });
    }
    return cancelled;
  }

  /**
   * Runs `act` on one file (or every file of the session) with the file's in-flight PATCH
   * stopped first (`stop`) and its lock held, then publishes progress for changed files.
   */
  async #forFiles(
    sessionId: string,
    fileId: string | undefined,
    stop: StopReason | null,
    act: (upload: UploadRecord, single: boolean) => Promise<UploadRecord | null>,
    withParts = false,
  ): Promise<void> {
    const session = await this.#session(sessionId);
    if (fileId !== undefined) this.#checkId(fileId);
    const all = fileId === undefined ? await this.#store.listUploads(sessionId) : [];
    const uploads = fileId === undefined
      ? (withParts ? all : visibleFiles(all))
      : [await this.#store.getUpload(fileId)].filter((u): u is UploadRecord =>
        u !== null && u.sessionId === sessionId
      );
    if (fileId !== undefined && uploads.length === 0) {
      throw new AppError("FILE_NOT_FOUND", `Upload "${fileId}" is not in session "${sessionId}"`);
    }
    if (stop !== "cancel" && session.status !== "active" && session.status !== "completed") {
      this.#checkOpen(session);
    }
    for (const upload of uploads) {
      if (stop) this.#active.get(upload.id)?.abort(stop);
      const lock = await this.#lock(upload.id);
      let changed: UploadRecord | null;
      try {
        const fresh = (await this.#store.getUpload(upload.id)) ?? upload;
        changed = await act(fresh, fileId !== undefined);
      } finally {
        await lock.release();
      }
      if (changed && changed.concat === "none") await this.#publishProgress(sessionId, changed.id);
    }
    // Expiry is not activity: renewing the lease would postpone the session's deletion.
    if (stop !== "expired") await this.#touch(sessionId);
  }

  /** A per-file delta, not a snapshot: the realtime rooms throttle first, then build (issue #9). */
  async #publishProgress(sessionId: string, current: string | UploadRecord | undefined) {
    const upload = typeof current === "string" ? await this.#store.getUpload(current) : current;
    const speed = upload ? this.#speeds.get(upload.id) : undefined;
    this.#bus.publishProgress(progressDelta(sessionId, upload, speed, this.#now()));
  }

  async #maybeCompleteSession(sessionId: string): Promise<void> {
    let completed: SessionRecord | null = null;
    let uploads: UploadRecord[] = [];
    await this.#withSession(sessionId, async (session) => {
      if (session.status !== "active") return null;
      uploads = await this.#store.listUploads(sessionId);
      const files = visibleFiles(uploads);
      const ids = new Set(files.map((f) => f.id));
      // Open partial uploads are a file still on its way (tus-js-client parallelUploads).
      const waiting = session.announcedFileIds.some((id) => !ids.has(id)) ||
        uploads.some(isOpenPartial);
      if (files.length === 0 || waiting || !files.every(isTerminal)) return null;
      completed = { ...session, status: "completed", endedAt: this.#now() };
      return completed;
    });
    if (!completed) return;
    const session: SessionRecord = completed;
    this.#bus.publish(sessionEndEvent(uploads, session, session.endedAt ?? this.#now()));
    await this.#publishProgress(sessionId, undefined);
  }

  async #expireSession(session: SessionRecord): Promise<void> {
    const affected: string[] = [];
    await this.#forFiles(session.id, undefined, "expired", async (upload) => {
      // Open partial uploads, finished or not, go with their session (their bytes too).
      if (isTerminal(upload) && !isOpenPartial(upload)) return null;
      if (upload.concat !== "partial") affected.push(upload.id);
      await this.#storage.removePart(upload.id);
      const expired: UploadRecord = {
        ...upload,
        status: "failed",
        error: { code: "SESSION_TIMEOUT", message: "The session expired after inactivity" },
        updatedAt: this.#now(),
      };
      await this.#store.putUpload(expired);
      this.#speeds.forget(upload.id);
      return expired;
    }, true);
    const now = this.#now();
    await this.#withSession(
      session.id,
      (s) => (s.status === "active" ? { ...s, status: "expired", endedAt: now } : null),
    );
    this.#bus.publish({
      name: "session-error",
      payload: {
        sessionId: session.id,
        error: {
          code: "SESSION_TIMEOUT",
          message: "The session expired after 30 minutes without activity",
        },
        action: "stop",
        affectedFiles: affected,
        timestamp: new Date(now).toISOString(),
      },
    });
    await this.#publishProgress(session.id, undefined);
  }
}

/** Ended by someone: no PATCH may turn it back into `uploading`. */
function isSettled(upload: UploadRecord): boolean {
  return upload.status === "completed" || upload.status === "cancelled" ||
    upload.status === "failed";
}

function equalBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
