import type { ErrorCode } from "../../protocol/errors.ts";
import { SETTLED } from "../../protocol/status.ts";
import { AppError } from "../errors.ts";
import { acquireOrLocked } from "../lock/acquire.ts";
import type { Lock, Locker } from "../lock/locker.ts";
import type { StateStore, UploadRecord } from "../state/store.ts";
import type { UploadStorage } from "../storage/storage.ts";
import { isOpenPartial } from "./quota.ts";

/** Parts one final may list; tus-js-client lists `parallelUploads` of them. */
export const MAX_FINAL_PARTS = 256;

/** What a join needs from the service that owns the uploads. */
export interface JoinSteps {
  now(): number;
  maxSize(upload: UploadRecord): number;
  /** Marks the upload failed (and tells its session). */
  fail(upload: UploadRecord, code: ErrorCode, message: string): Promise<void>;
  /** The joined file now has all its bytes (upload-started for watchers). */
  started(upload: UploadRecord): void;
  /** Content check and completion, as for any upload. */
  finish(upload: UploadRecord): Promise<UploadRecord>;
}

export interface ConcatenationDeps {
  store: StateStore;
  storage: UploadStorage;
  locker: Locker;
  /** How long a claim waits for a part another request holds; then 423 UPLOAD_LOCKED. */
  lockTimeoutMs: number;
  /** The claim locks' lease (H5_LOCK_LEASE_MS); default the locker's. */
  leaseMs?: number;
  steps: JoinSteps;
}

/**
 * Who may join which partial uploads, and when. A final upload claims its parts at creation
 * (tus concatenation); with concatenation-unfinished the parts may still be uploading, and the
 * final is joined as soon as its last part completes. A claim lives in the final's `parts`
 * (partial records are rewritten by their own PATCH, so a mark there could be lost); once
 * joined, each part's `consumedBy` says so for good.
 */
export class Concatenation {
  #store: StateStore;
  #storage: UploadStorage;
  #locker: Locker;
  #lockTimeoutMs: number;
  #leaseMs: number | undefined;
  #steps: JoinSteps;
  /** One join at a time per final on this node (across nodes: the `join:<id>` lock). */
  #chains = new Map<string, Promise<void>>();

  constructor(deps: ConcatenationDeps) {
    this.#store = deps.store;
    this.#storage = deps.storage;
    this.#locker = deps.locker;
    this.#lockTimeoutMs = deps.lockTimeoutMs;
    this.#leaseMs = deps.leaseMs;
    this.#steps = deps.steps;
  }

  /**
   * Checks and claims the parts of a new final upload: each listed once, a partial, not joined
   * or claimed by another final. `admit` (the session checks and the insert of the final)
   * runs while the parts are locked, so of concurrent finals over a part only one gets it.
   */
  async claim(
    ids: string[],
    load: (id: string) => Promise<UploadRecord>,
    admit: (parts: UploadRecord[]) => Promise<void>,
  ): Promise<UploadRecord[]> {
    if (ids.length > MAX_FINAL_PARTS) {
      throw new AppError(
        "CONCAT_PART_INVALID",
        `A final upload may list ${MAX_FINAL_PARTS} parts, not ${ids.length}`,
      );
    }
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice !== undefined) {
      throw new AppError("CONCAT_PART_INVALID", `Partial upload "${twice}" is listed twice`);
    }
    // Sorted, so two finals over overlapping parts cannot wait on each other.
    const locks = [];
    try {
      for (const id of [...ids].sort()) {
        locks.push(await this.#claimLock(id));
      }
      const parts: UploadRecord[] = [];
      for (const id of ids) {
        const part = await load(id);
        if (part.concat !== "partial") {
          throw new AppError("CONCAT_PART_INVALID", `Upload "${id}" is not a partial upload`);
        }
        if (!isOpenPartial(part) || (await this.finalsWaitingOn(part)).length > 0) {
          throw new AppError(
            "CONCAT_PART_INVALID",
            `Partial upload "${id}" is already part of another final upload or failed`,
          );
        }
        parts.push(part);
      }
      await admit(parts);
      return parts;
    } finally {
      for (const lock of locks.reverse()) await lock.release();
    }
  }

  /**
   * A finished partial that no final joined or waits on, past its expiry: its bytes go and it
   * fails as expired. Under its claim lock, so a final claiming it at the same moment either
   * got it first (then it is kept) or finds it failed (then 400 CONCAT_PART_INVALID).
   */
  async expireUnjoined(id: string): Promise<void> {
    const lock = await this.#claimLock(id);
    try {
      const part = await this.#store.getUpload(id);
      if (!part || part.status !== "completed" || !isOpenPartial(part)) return;
      if ((await this.finalsWaitingOn(part)).length > 0) return;
      // The record first: whoever sees the bytes gone must also see the part expired.
      const expired = await this.#store.putUpload({
        ...part,
        status: "failed",
        error: { code: "UPLOAD_EXPIRED", message: "No final upload joined this part in time" },
        updatedAt: this.#steps.now(),
      }, { ifVersion: part.version ?? 0 });
      // Changed since the read (another node's sweep): the next sweep decides again.
      if (expired) await this.#storage.removePart(id);
    } finally {
      await lock.release();
    }
  }

  #claimLock(id: string, key = `concat:${id}`): Promise<Lock> {
    return acquireOrLocked(this.#locker, key, `Partial upload "${id}"`, {
      timeoutMs: this.#lockTimeoutMs,
      ...(this.#leaseMs === undefined ? {} : { leaseMs: this.#leaseMs }),
    });
  }

  /** Finals that claimed `part` and are not joined yet (a failed final lets go). */
  async finalsWaitingOn(part: UploadRecord): Promise<UploadRecord[]> {
    // Unfinished uploads: a session's are listed by session; anonymous ones only among all
    // unfinished uploads (listExpiredUploads with no bound).
    const pool = part.sessionId
      ? await this.#store.listUploads(part.sessionId)
      : await this.#store.listExpiredUploads(Number.MAX_SAFE_INTEGER);
    return pool.filter((u) =>
      u.concat === "final" && u.parts.includes(part.id) && !SETTLED.has(u.status)
    );
  }

  /**
   * A part just completed: the finals waiting on it. Taken under the part's claim lock, so a
   * final created at the same moment either saw the part complete or is listed here.
   */
  async waitingAfterCompletion(part: UploadRecord): Promise<UploadRecord[]> {
    const lock = await this.#claimLock(part.id);
    try {
      return await this.finalsWaitingOn(part);
    } finally {
      await lock.release();
    }
  }

  /**
   * Joins the final once every part is complete, at most once at a time per final, from the
   * latest records. Returns the final as it is afterwards (null if it is gone).
   */
  async joinWhenReady(finalId: string): Promise<UploadRecord | null> {
    let result: UploadRecord | null = null;
    const previous = this.#chains.get(finalId) ?? Promise.resolve();
    const run = previous.then(async () => {
      // Two nodes completing a final's last parts at once both get here: without a shared
      // lock both truncated and appended into the final's part, one under the other's check.
      const lock = await this.#claimLock(finalId, `join:${finalId}`);
      try {
        const final = await this.#store.getUpload(finalId);
        if (!final || final.status === "completed" || final.status === "failed") {
          result = final;
          return;
        }
        const parts = await Promise.all(final.parts.map((id) => this.#store.getUpload(id)));
        const ready = parts.every((p) => p !== null && p.status === "completed");
        result = ready ? await this.#join(final, parts as UploadRecord[]) : final;
      } finally {
        await lock.release();
      }
    });
    const settled = run.catch(() => {});
    this.#chains.set(finalId, settled);
    try {
      await run;
    } finally {
      if (this.#chains.get(finalId) === settled) this.#chains.delete(finalId);
    }
    return result;
  }

  /** A part completed: joins every final that waited on it; their failures stay theirs. */
  async partCompleted(part: UploadRecord): Promise<void> {
    for (const final of await this.waitingAfterCompletion(part)) {
      try {
        await this.joinWhenReady(final.id);
      } catch (error) {
        if (!(error instanceof AppError)) console.error("Joining a final upload failed:", error);
      }
    }
  }

  /**
   * Appends the parts into the final's part file, then has it checked and finished like any
   * upload. A failure fails the final (it never stays pending) and so frees its parts.
   */
  async #join(final: UploadRecord, parts: UploadRecord[]): Promise<UploadRecord> {
    const steps = this.#steps;
    const now = steps.now();
    const size = parts.reduce((sum, p) => sum + p.offset, 0);
    if (size > steps.maxSize(final)) {
      const message = `The parts of "${final.id}" add up to ${size} bytes, over the limit`;
      await this.#storage.removePart(final.id);
      await steps.fail({ ...final, size }, "FILE_TOO_LARGE", message);
      throw new AppError("FILE_TOO_LARGE", message);
    }
    // After a crash the parts may already be joined (and removed); else start over.
    if (!parts.every((p) => p.consumedBy === final.id)) {
      try {
        await this.#storage.truncate(final.id, 0);
        await this.#storage.concat(final.id, parts.map((p) => p.id));
      } catch (error) {
        // Our own failure (a 500): always logged.
        console.error(`Cannot join the parts of upload "${final.id}":`, error);
        await this.#storage.truncate(final.id, 0).catch(() => {});
        await steps.fail(final, "STORAGE_ERROR", `Cannot join the parts of "${final.id}"`);
        throw new AppError("STORAGE_ERROR", `Cannot join the parts of "${final.id}"`, {
          cause: error,
        });
      }
    }
    const joined: UploadRecord = {
      ...final,
      size,
      offset: size,
      startedAt: final.startedAt ?? now,
      status: "uploading",
      updatedAt: now,
    };
    if (!(await this.#store.putUpload(joined, { ifVersion: final.version ?? 0 }))) {
      // Another writer changed the final since this join read it: its state stands.
      throw new AppError("UPLOAD_LOCKED", `Upload "${final.id}" changed during its join; retry`);
    }
    const written = { ...joined, version: (final.version ?? 0) + 1 };
    // Every part is marked joined before any is removed: after a crash in between, either all
    // are marked (the join is done) or every part's bytes are still there to join again.
    for (const part of parts) {
      if (part.consumedBy !== final.id) {
        // Conditional: a part changed since the read is not marked (a rejoin reads again).
        await this.#store.putUpload({ ...part, consumedBy: final.id, updatedAt: now }, {
          ifVersion: part.version ?? 0,
        });
      }
    }
    for (const part of parts) await this.#storage.removePart(part.id);
    steps.started(written);
    return await steps.finish(written);
  }

  /** The final's progress as tus HEAD reports it while parts are still uploading. */
  async progress(final: UploadRecord): Promise<{ offset: number; size: number | null }> {
    if (final.status === "completed") return { offset: final.offset, size: final.size };
    const parts = await Promise.all(final.parts.map((id) => this.#store.getUpload(id)));
    let offset = 0;
    let size: number | null = 0;
    for (const part of parts) {
      offset += part?.offset ?? 0;
      size = size === null || part?.size == null ? null : size + part.size;
    }
    return { offset, size };
  }
}
