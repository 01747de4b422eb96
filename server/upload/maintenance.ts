import { ENDED, SETTLED } from "../../protocol/status.ts";
import { AppError } from "../errors.ts";
import { acquireOrLocked } from "../lock/acquire.ts";
import type { SessionRecord, UploadRecord } from "../state/store.ts";
import { isFinalFailure, isTerminal } from "./snapshot.ts";
import { purgeEndedSessions } from "./retention.ts";
import type { Concatenation } from "./concatenation.ts";
import { isOpenPartial } from "./quota.ts";
import { isSettled, TOUCH_EVERY_MS, type UploadContext } from "./context.ts";
import type { StopReason } from "./in_flight.ts";
import type { DomainEvents } from "./domain_events.ts";
import type { FileCommands } from "./file_commands.ts";
import { storageKey } from "./storage_key.ts";
import { doneWriting } from "./writing.ts";

/**
 * Maintenance: recovery after a crash, and the sweep (expiry of sessions and uploads, retention).
 */
export class Maintenance {
  #ctx: UploadContext;
  #events: DomainEvents;
  #commands: FileCommands;
  #concat: Concatenation;

  constructor(
    ctx: UploadContext,
    parts: { events: DomainEvents; commands: FileCommands; concat: Concatenation },
  ) {
    this.#ctx = ctx;
    this.#events = parts.events;
    this.#commands = parts.commands;
    this.#concat = parts.concat;
  }

  /**
   * After a crash: drop torn tails, finish renames, mark interrupted uploads, drop orphans.
   * On several nodes only uploads whose lock holder is gone (issue #9): a held lock is a live
   * writer on another node, and that upload is left alone.
   */
  async recover(): Promise<void> {
    const unfinished = await this.#ctx.store.listExpiredUploads(Number.MAX_SAFE_INTEGER);
    const known = new Set<string>();
    const finals: string[] = [];
    for (const listed of unfinished) {
      known.add(listed.id);
      if (listed.status === "cancelled" || isFinalFailure(listed)) continue;
      await this.#ifUnheld(`upload:${listed.id}`, async () => {
        const upload = await this.#ctx.store.getUpload(listed.id);
        if (upload) await this.#recoverOne(upload, finals);
      });
    }
    for (const id of await this.#ctx.storage.listParts()) {
      if (known.has(id)) continue;
      // Records are written before their part, under the upload's lock (context.insert): a
      // part without a record is a leftover, never a creation in progress on another node
      // (that one holds the lock, and the record is read again under it). A grace period
      // instead would need part ages, which S3 does not give without a request per part.
      await this.#ifUnheld(`upload:${id}`, async () => {
        const record = await this.#ctx.store.getUpload(id);
        // A completed partial upload keeps its bytes until a final joins them (or it expires).
        if (record?.concat === "partial" && isOpenPartial(record)) return;
        if (!record || ENDED.has(record.status)) await this.#ctx.storage.removePart(id);
      });
    }
    for (const id of finals) {
      await this.#concat.joinWhenReady(id).catch((e) => {
        if (!(e instanceof AppError)) console.error(`Cannot finish final upload "${id}":`, e);
      });
    }
  }

  async #recoverOne(upload: UploadRecord, finals: string[]): Promise<void> {
    if (upload.status === "cancelled" || isFinalFailure(upload)) return;
    const size = await this.#ctx.storage.partSize(upload.id).catch(() => null);
    if (size === null) {
      if (upload.offset === upload.size && upload.storageKey === null) {
        await this.#recoverFinal(upload);
      }
      return;
    }
    // A final is never PATCHed: it waits for its parts, or its join was cut short.
    if (upload.concat === "final") {
      if (upload.status !== "failed") finals.push(upload.id);
      return;
    }
    // The committed offset: a truncation every storage supports.
    if (size > upload.offset) await this.#ctx.storage.truncate(upload.id, upload.offset);
    // Only a PATCH that began and never ended: between two PATCHes (served by any node) the
    // lock is free and the upload is `uploading` by design; failing it there told watchers of
    // a failure that did not happen.
    if (upload.status === "uploading" && upload.writing) {
      await this.#ctx.updateUpload(
        upload.id,
        (stored) =>
          stored.status !== "uploading" || !stored.writing ? null : {
            ...doneWriting(stored),
            status: "failed",
            error: {
              code: "UPLOAD_INTERRUPTED",
              message: "The server restarted during the upload",
            },
          },
        upload,
      );
    }
  }

  /**
   * Runs `task` under `key` when no one holds it, else skips it: one node per item. Sweeps
   * and recovery run on every node; whoever holds the key is doing (or writing) it now.
   */
  async #ifUnheld(key: string, task: () => Promise<void>): Promise<void> {
    const lock = await this.#ctx.tryLock(key);
    if (!lock) return;
    try {
      await task();
    } finally {
      await lock.release();
    }
  }

  /**
   * Expires idle sessions and anonymous uploads; removes their partial bytes. Every node
   * sweeps; each item is taken by one of them (`sweep:<kind>:<id>`, skipped when held) and
   * written conditionally, and only the write that made a transition publishes it.
   */
  async sweep(): Promise<void> {
    const now = this.#ctx.now();
    for (const session of await this.#ctx.store.listExpiredSessions(now)) {
      await this.#ifUnheld(`sweep:session:${session.id}`, () => this.#expireSession(session));
    }
    for (const upload of await this.#ctx.store.listExpiredUploads(now)) {
      if (upload.sessionId) {
        const session = await this.#ctx.store.getSession(upload.sessionId);
        if (session?.status === "active") continue;
      }
      await this.#ifUnheld(`sweep:upload:${upload.id}`, () => this.#sweepUpload(upload, now));
    }
    await purgeEndedSessions(
      {
        store: this.#ctx.store,
        storage: this.#ctx.storage,
        lockSession: (id) =>
          acquireOrLocked(this.#ctx.locker, `session:${id}`, `Session "${id}"`, {
            ...this.#ctx.lockOptions(),
          }),
        forget: (sessionId, uploadIds) => {
          this.#ctx.touched.delete(sessionId);
          for (const id of uploadIds) this.#ctx.speeds.forget(id);
        },
      },
      now,
      this.#ctx.config.sessionRetentionMs,
    );
    // An entry older than the touch interval throttles nothing: it only takes room.
    for (const [id, at] of this.#ctx.touched) {
      if (now - at >= TOUCH_EVERY_MS) this.#ctx.touched.delete(id);
    }
  }

  async #sweepUpload(upload: UploadRecord, now: number): Promise<void> {
    if (upload.status === "completed") {
      // An anonymous partial no final joined (a session's go with their session).
      await this.#concat.expireUnjoined(upload.id).catch((error) =>
        console.error(`Cannot expire partial upload "${upload.id}" now; next sweep:`, error)
      );
    } else if (!SETTLED.has(upload.status)) {
      // One upload whose writer will not let go must not keep the others from expiring.
      await this.#expireUpload(upload.id).catch((error) =>
        console.error(`Cannot expire upload "${upload.id}" now; next sweep:`, error)
      );
    } else if (upload.expiresAt + this.#ctx.config.sessionRetentionMs <= now) {
      // Kept until now so clients got 410, not 404. Only the record as listed: a resume
      // written since (a failed upload is resumable) keeps it.
      const condition = upload.version === undefined ? {} : { ifVersion: upload.version };
      if (await this.#ctx.store.deleteUpload(upload.id, condition)) {
        await this.#ctx.storage.removePart(upload.id);
        this.#ctx.speeds.forget(upload.id);
      }
    }
  }

  /**
   * Like session expiry: stop the PATCH in flight first, then take the upload's lock, so the
   * part is never removed under a writer that would then commit an offset over a missing file.
   */
  async #expireUpload(id: string): Promise<void> {
    this.#ctx.inFlight.stop(id, "expired" satisfies StopReason);
    const lock = await this.#ctx.lock(id);
    try {
      const written = await this.#ctx.updateUpload(id, (fresh) =>
        isSettled(fresh) ? null : {
          ...fresh,
          status: "failed",
          error: { code: "UPLOAD_EXPIRED", message: "The upload expired before it was finished" },
          updatedAt: this.#ctx.now(),
        });
      // The record first: whoever sees the bytes gone must also see the upload expired.
      if (written.changed) await this.#ctx.storage.removePart(id);
      this.#ctx.speeds.forget(id);
    } finally {
      await lock.release();
    }
  }

  async #expireSession(listed: SessionRecord): Promise<void> {
    // Listed before another node's sweep (or new activity) changed it: nothing to do now.
    const session = await this.#ctx.store.getSession(listed.id);
    if (session?.status !== "active" || session.expiresAt > this.#ctx.now()) return;
    const affected: string[] = [];
    await this.#commands.forFiles(session.id, undefined, "expired", async (upload) => {
      const now = this.#ctx.now();
      const written = await this.#ctx.updateUpload(upload.id, (stored) =>
        // Open partial uploads, finished or not, go with their session (their bytes too).
        isTerminal(stored) && !isOpenPartial(stored) ? null : {
          ...stored,
          status: "failed",
          error: { code: "SESSION_TIMEOUT", message: "The session expired after inactivity" },
          updatedAt: now,
        }, upload);
      if (!written.changed) return null;
      if (upload.concat !== "partial") affected.push(upload.id);
      await this.#ctx.storage.removePart(upload.id);
      this.#ctx.speeds.forget(upload.id);
      return written.record;
    }, true);
    const now = this.#ctx.now();
    const { changed } = await this.#ctx.changeSession(
      session.id,
      (s) => (s.status === "active" ? { ...s, status: "expired", endedAt: now } : null),
    );
    // Another node's sweep got there first: its transition, its events.
    if (!changed) return;
    this.#ctx.bus.publish({
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
    await this.#events.publishProgress(session.id, undefined);
  }

  async #recoverFinal(upload: UploadRecord): Promise<void> {
    // The key of its creation day (fixed at creation); then those of its last write's day
    // and the next, where records finished before keys were fixed at creation keep theirs.
    const days = [upload.createdAt, upload.updatedAt, upload.updatedAt + 86_400_000];
    for (const at of days) {
      const key = storageKey(upload, at);
      if ((await this.#ctx.storage.stat(key)) === upload.size) {
        await this.#ctx.updateUpload(
          upload.id,
          (stored) =>
            stored.storageKey !== null || SETTLED.has(stored.status) ? null : {
              ...stored,
              status: "completed",
              storageKey: key,
              completedAt: stored.updatedAt,
            },
          upload,
        );
        return;
      }
    }
  }
}
