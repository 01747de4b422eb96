import type { UploadRecord } from "../state/store.ts";
import type { UploadContext } from "./context.ts";
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

  async publishProgress(sessionId: string, current: string | undefined): Promise<void> {
    const snapshot = await this.#sessions.snapshot(sessionId, current);
    const { files: _files, ...progress } = snapshot;
    this.#ctx.bus.publish({ name: "upload-progress", payload: progress });
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
