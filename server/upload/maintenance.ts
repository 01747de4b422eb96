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

  /** After a crash: drop torn tails, finish renames, mark interrupted uploads, drop orphans. */
  async recover(): Promise<void> {
    const unfinished = await this.#ctx.store.listExpiredUploads(Number.MAX_SAFE_INTEGER);
    const known = new Set<string>();
    const finals: string[] = [];
    for (const upload of unfinished) {
      known.add(upload.id);
      if (upload.status === "cancelled" || isFinalFailure(upload)) continue;
      const size = await this.#ctx.storage.partSize(upload.id).catch(() => null);
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
      if (size > upload.offset) await this.#ctx.storage.truncate(upload.id, upload.offset);
      if (upload.status === "uploading") {
        await this.#ctx.store.putUpload({
          ...upload,
          status: "failed",
          error: { code: "UPLOAD_INTERRUPTED", message: "The server restarted during the upload" },
        });
      }
    }
    for (const id of await this.#ctx.storage.listParts()) {
      if (known.has(id)) continue;
      const record = await this.#ctx.store.getUpload(id);
      // A completed partial upload keeps its bytes until a final joins them (or it expires).
      if (record?.concat === "partial" && isOpenPartial(record)) continue;
      if (!record || ENDED.has(record.status)) {
        await this.#ctx.storage.removePart(id);
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
    const now = this.#ctx.now();
    for (const session of await this.#ctx.store.listExpiredSessions(now)) {
      await this.#expireSession(session);
    }
    for (const upload of await this.#ctx.store.listExpiredUploads(now)) {
      if (upload.sessionId) {
        const session = await this.#ctx.store.getSession(upload.sessionId);
        if (session?.status === "active") continue;
      }
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
        // Kept until now so clients got 410, not 404.
        await this.#ctx.storage.removePart(upload.id);
        await this.#ctx.store.deleteUpload(upload.id);
        this.#ctx.speeds.forget(upload.id);
      }
    }
    await purgeEndedSessions(
      {
        store: this.#ctx.store,
        storage: this.#ctx.storage,
        lockSession: (id) =>
          acquireOrLocked(this.#ctx.locker, `session:${id}`, `Session "${id}"`, {
            timeoutMs: this.#ctx.config.lockTimeoutMs,
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

  /**
   * Like session expiry: stop the PATCH in flight first, then take the upload's lock, so the
   * part is never removed under a writer that would then commit an offset over a missing file.
   */
  async #expireUpload(id: string): Promise<void> {
    this.#ctx.inFlight.stop(id, "expired" satisfies StopReason);
    const lock = await this.#ctx.lock(id);
    try {
      const fresh = await this.#ctx.store.getUpload(id);
      if (!fresh || isSettled(fresh)) return;
      await this.#ctx.storage.removePart(id);
      await this.#ctx.store.putUpload({
        ...fresh,
        status: "failed",
        error: { code: "UPLOAD_EXPIRED", message: "The upload expired before it was finished" },
        updatedAt: this.#ctx.now(),
      });
      this.#ctx.speeds.forget(id);
    } finally {
      await lock.release();
    }
  }

  async #expireSession(session: SessionRecord): Promise<void> {
    const affected: string[] = [];
    await this.#commands.forFiles(session.id, undefined, "expired", async (upload) => {
      // Open partial uploads, finished or not, go with their session (their bytes too).
      if (isTerminal(upload) && !isOpenPartial(upload)) return null;
      if (upload.concat !== "partial") affected.push(upload.id);
      await this.#ctx.storage.removePart(upload.id);
      const expired: UploadRecord = {
        ...upload,
        status: "failed",
        error: { code: "SESSION_TIMEOUT", message: "The session expired after inactivity" },
        updatedAt: this.#ctx.now(),
      };
      await this.#ctx.store.putUpload(expired);
      this.#ctx.speeds.forget(upload.id);
      return expired;
    }, true);
    const now = this.#ctx.now();
    await this.#ctx.withSession(
      session.id,
      (s) => (s.status === "active" ? { ...s, status: "expired", endedAt: now } : null),
    );
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
    for (let days = 0; days <= 1; days++) {
      const key = this.#ctx.storageKey(upload, upload.updatedAt + days * 86_400_000);
      if ((await this.#ctx.storage.stat(key)) === upload.size) {
        await this.#ctx.store.putUpload({
          ...upload,
          status: "completed",
          storageKey: key,
          completedAt: upload.updatedAt,
        });
        return;
      }
    }
  }
}
