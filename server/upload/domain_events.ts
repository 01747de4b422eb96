import type { UploadRecord } from "../state/store.ts";
import type { UploadContext } from "./context.ts";
import { progressDelta } from "./progress_delta.ts";
import type { Sessions } from "./sessions.ts";

/**
 * Domain events for the session rooms that are built from state (progress, a joined file's start).
 */
export class DomainEvents {
  #ctx: UploadContext;
  #sessions: Sessions;

  constructor(
    ctx: UploadContext,
    parts: { sessions: Sessions },
  ) {
    this.#ctx = ctx;
    this.#sessions = parts.sessions;
  }

  /** A per-file delta, not a snapshot: the realtime rooms throttle first, then build (issue #9). */
  async publishProgress(
    sessionId: string,
    current: string | UploadRecord | undefined,
  ): Promise<void> {
    const upload = typeof current === "string" ? await this.#ctx.store.getUpload(current) : current;
    const speed = upload ? this.#ctx.speeds.get(upload.id) : undefined;
    this.#ctx.bus.publishProgress(progressDelta(sessionId, upload, speed, this.#ctx.now()));
  }

  announceStarted(upload: UploadRecord): void {
    if (!upload.sessionId) return;
    this.#ctx.bus.publish({
      name: "upload-started",
      payload: {
        sessionId: upload.sessionId,
        fileId: upload.id,
        fileName: upload.filename,
        fileSize: upload.size ?? 0,
        startTime: new Date(upload.startedAt ?? this.#ctx.now()).toISOString(),
      },
    });
  }
}
