import { SETTLED } from "../../protocol/status.ts";
import type { TokenSigner } from "../auth/token.ts";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";
import { acquireOrLocked } from "../lock/acquire.ts";
import type { Locker } from "../lock/locker.ts";
import type { SessionRecord, StateStore, UploadRecord } from "../state/store.ts";
import { isValidUploadId, type UploadStorage } from "../storage/storage.ts";
import type { EventBus } from "./event_bus.ts";
import type { InFlight, StopReason } from "./in_flight.ts";
import { SharedInFlight } from "./shared_in_flight.ts";
import type { StopChannel } from "../cluster/stop_channel.ts";
import { MemoryStopChannel } from "../cluster/memory_stop_channel.ts";
import { type Change, type Changed, rewrite, sessionTable, uploadTable } from "./conditional.ts";
import { SpeedMeter } from "./speed.ts";
import { sessionDelta } from "./progress_delta.ts";

export type ServiceConfig =
  & Pick<
    Config,
    | "categories"
    | "maxFileSize"
    | "sessionTimeoutMs"
    | "allowAnonymous"
    | "maxRetries"
    | "tokenTtlMs"
    | "lockTimeoutMs"
    | "sessionRetentionMs"
  >
  & Partial<Pick<Config, "lockLeaseMs">>;

export interface ServiceDeps {
  store: StateStore;
  storage: UploadStorage;
  locker: Locker;
  bus: EventBus;
  tokens: TokenSigner;
  config: ServiceConfig;
  now?: () => number;
  /** The PATCHes in flight; default this node's own registry over `stopChannel`. */
  inFlight?: InFlight;
  /**
   * Stop requests heard by every node sharing the uploads (pause, cancel, expiry of a PATCH
   * another node writes). Default: a channel of this node alone.
   */
  stopChannel?: StopChannel<StopReason>;
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
  /** Set when this context made the registry: it stops listening at close(). */
  readonly #ownInFlight: SharedInFlight | null = null;
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
    if (deps.inFlight) {
      this.inFlight = deps.inFlight;
    } else {
      this.inFlight = this.#ownInFlight = new SharedInFlight(
        deps.stopChannel ?? new MemoryStopChannel<StopReason>(),
      );
    }
  }

  /** Stops listening for other nodes' stop requests. */
  close(): void {
    this.#ownInFlight?.close();
  }

  /** Lock options every acquire shares: the configured wait and lease. */
  lockOptions(): { timeoutMs: number; leaseMs?: number } {
    const leaseMs = this.config.lockLeaseMs;
    return leaseMs === undefined
      ? { timeoutMs: this.config.lockTimeoutMs }
      : { timeoutMs: this.config.lockTimeoutMs, leaseMs };
  }

  /** The upload's lock if no one holds it now (recovery, sweeps); null: a live holder. */
  tryLock(key: string) {
    const leaseMs = this.config.lockLeaseMs;
    return this.locker.tryAcquire(key, leaseMs === undefined ? {} : { leaseMs });
  }

  /**
   * Conditional read-modify-write of an upload (see conditional.ts): `change` sees the stored
   * record (first `base` when it has its version) and is asked again after a conflict.
   */
  updateUpload(
    id: string,
    change: Change<UploadRecord>,
    base?: UploadRecord | null,
  ): Promise<Changed<UploadRecord>> {
    return rewrite(uploadTable(this.store), id, change, base);
  }

  /**
   * The writer's change of its own copy `mine`, written over the stored record while the
   * stored state is still the one the writer decided on (`when`, default: the same status):
   * a pause, cancel or expiry another node wrote meanwhile wins. The writer's own facts
   * (offset, size, start, type check) come from its copy, everything else from the store.
   */
  async amend(
    mine: UploadRecord,
    fields: Partial<UploadRecord> | ((stored: UploadRecord) => Partial<UploadRecord>),
    when: (stored: UploadRecord) => boolean = (stored) => stored.status === mine.status,
  ): Promise<Changed<UploadRecord>> {
    return await this.updateUpload(mine.id, (stored) =>
      when(stored)
        ? {
          ...stored,
          offset: mine.offset,
          size: mine.size,
          startedAt: mine.startedAt,
          typeChecked: mine.typeChecked,
          filetype: mine.filetype,
          ext: mine.ext,
          ...(typeof fields === "function" ? fields(stored) : fields),
        }
        : null, mine);
  }

  /** The same for a session. */
  updateSession(
    id: string,
    change: Change<SessionRecord>,
    base?: SessionRecord | null,
  ): Promise<Changed<SessionRecord>> {
    return rewrite(sessionTable(this.store), id, change, base);
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
      ...this.lockOptions(),
      // Asked of the holder, which is this node: published, the request could reach the
      // next holder after it took over and end its new PATCH.
      onReleaseRequest: () => this.inFlight.stopLocal(id, "superseded" satisfies StopReason),
    });
  }

  /** Read-modify-write of a session under its lock; `update` may return null to keep it. */
  async withSession(
    id: string,
    update: (
      session: SessionRecord,
    ) => Promise<SessionRecord | null | void> | SessionRecord | null | void,
  ): Promise<SessionRecord> {
    return (await this.changeSession(id, update)).session;
  }

  /**
   * withSession that says whether it wrote: events of a transition are published only by the
   * writer that made it (three nodes expiring one session publish one `session-error`). The
   * write is conditional on the version read; after a conflict `update` decides again from
   * the newer record, so it must not act outside its return value.
   */
  async changeSession(
    id: string,
    update: (
      session: SessionRecord,
    ) => Promise<SessionRecord | null | void> | SessionRecord | null | void,
  ): Promise<{ session: SessionRecord; changed: boolean }> {
    const lock = await acquireOrLocked(this.locker, `session:${id}`, `Session "${id}"`, {
      ...this.lockOptions(),
    });
    try {
      const result = await this.updateSession(
        id,
        async (session) => (await update(session)) ?? null,
        await this.session(id),
      );
      if (!result.record) throw new AppError("SESSION_NOT_FOUND", `Session "${id}" does not exist`);
      if (result.changed) this.bus.publishProgress(sessionDelta(result.record, this.now()));
      return { session: result.record, changed: result.changed };
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
}

/** Ended by someone: no PATCH may turn it back into `uploading`. */
export function isSettled(upload: UploadRecord): boolean {
  return SETTLED.has(upload.status);
}
