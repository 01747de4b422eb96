import { SETTLED } from "../../protocol/status.ts";
import type { TokenSigner } from "../auth/token.ts";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";
import { acquireOrLocked } from "../lock/acquire.ts";
import type { Locker } from "../lock/locker.ts";
import type { SessionRecord, StateStore, UploadRecord } from "../state/store.ts";
import { isValidUploadId, type UploadStorage } from "../storage/storage.ts";
import type { EventBus } from "./event_bus.ts";
import { extensionFor } from "./file_types.ts";
import { type InFlight, LocalInFlight, type StopReason } from "./in_flight.ts";
import { SpeedMeter } from "./speed.ts";
import { sessionDelta } from "./progress_delta.ts";

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
  /** The PATCHes in flight; default this node's own registry. */
  inFlight?: InFlight;
}

export const TOUCH_EVERY_MS = 1000;

/**
 * What every part of the upload service shares: its dependencies, config and clock, the
 * in-memory meters, and the plumbing (session and upload locks, the session read-modify-write,
 * lease renewal, id and state checks, storage keys).
 */
export class UploadContext {
  readonly store: StateStore;
  readonly storage: UploadStorage;
  readonly locker: Locker;
  readonly bus: EventBus;
  readonly tokens: TokenSigner;
  readonly config: ServiceConfig;
  readonly now: () => number;
  readonly inFlight: InFlight;
  readonly speeds = new SpeedMeter();
  readonly touched = new Map<string, number>();

  constructor(deps: ServiceDeps) {
    this.store = deps.store;
    this.storage = deps.storage;
    this.locker = deps.locker;
    this.bus = deps.bus;
    this.tokens = deps.tokens;
    this.config = deps.config;
    this.now = deps.now ?? Date.now;
    this.inFlight = deps.inFlight ?? new LocalInFlight();
  }

  async session(id: string): Promise<SessionRecord> {
    const session = await this.store.getSession(id);
    if (!session) throw new AppError("SESSION_NOT_FOUND", `Session "${id}" does not exist`);
    return session;
  }

  checkOpen(session: SessionRecord): void {
    if (session.status === "expired") {
      throw new AppError("SESSION_TIMEOUT", `Session "${session.id}" has expired`);
    }
    if (session.status === "cancelled") {
      throw new AppError("SESSION_CLOSED", `Session "${session.id}" was cancelled`);
    }
  }

  checkId(id: string): string {
    if (!isValidUploadId(id)) {
      throw new AppError(
        "INVALID_REQUEST",
        `Invalid file id "${id.slice(0, 80)}": use 1-64 letters, digits, - or _`,
      );
    }
    return id;
  }

  terminalError(upload: UploadRecord, action: string): AppError {
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

  maxSize(upload: UploadRecord): number {
    return upload.category
      ? this.config.categories[upload.category].maxFileSize
      : this.config.maxFileSize;
  }

  async expired(upload: UploadRecord): Promise<boolean> {
    const code = upload.error?.code;
    if (code === "SESSION_TIMEOUT" || code === "UPLOAD_EXPIRED") return true;
    return (await this.expiresAt(upload)) <= this.now();
  }

  /** When an unfinished upload expires: its session's expiry, or its own when anonymous. */
  async expiresAt(upload: UploadRecord): Promise<number> {
    if (!upload.sessionId) return upload.expiresAt;
    return (await this.store.getSession(upload.sessionId))?.expiresAt ?? upload.expiresAt;
  }

  async lock(id: string) {
    return await acquireOrLocked(this.locker, `upload:${id}`, `Upload "${id}"`, {
      timeoutMs: this.config.lockTimeoutMs,
      onReleaseRequest: () => this.inFlight.stop(id, "superseded" satisfies StopReason),
    });
  }

  /** Read-modify-write of a session under its lock; `update` may return null to keep it. */
  async withSession(
    id: string,
    update: (
      session: SessionRecord,
    ) => Promise<SessionRecord | null | void> | SessionRecord | null | void,
  ): Promise<SessionRecord> {
    const lock = await acquireOrLocked(this.locker, `session:${id}`, `Session "${id}"`, {
      timeoutMs: this.config.lockTimeoutMs,
    });
    try {
      const session = await this.session(id);
      const next = await update(session);
      if (next) await this.store.putSession(next);
      if (next) this.bus.publishProgress(sessionDelta(next, this.now()));
      return next ?? session;
    } finally {
      await lock.release();
    }
  }

  async touch(sessionId: string | null): Promise<void> {
    if (!sessionId) return;
    const now = this.now();
    if (now - (this.touched.get(sessionId) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(sessionId, now);
    await this.withSession(
      sessionId,
      (s) =>
        s.status === "expired"
          ? null
          : { ...s, lastActivity: now, expiresAt: now + this.config.sessionTimeoutMs },
    );
  }

  async insert(record: UploadRecord): Promise<void> {
    const existing = await this.store.getUpload(record.id);
    if (existing) throw new AppError("INVALID_REQUEST", `Upload "${record.id}" already exists`);
    await this.storage.create(record.id);
    await this.store.putUpload(record);
  }

  storageKey(upload: UploadRecord, at: number): string {
    const d = new Date(at);
    const pad = (n: number) => String(n).padStart(2, "0");
    const ext = upload.ext || extensionFor(upload.filetype);
    return `${upload.category ?? "anonymous"}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${
      pad(d.getUTCDate())
    }/${upload.id}${ext}`;
  }
}

/** Ended by someone: no PATCH may turn it back into `uploading`. */
export function isSettled(upload: UploadRecord): boolean {
  return SETTLED.has(upload.status);
}
