import type {
  ProgressUpdateEvent,
  RoomEvent,
  UploadCancelEvent,
  UploadPauseEvent,
  UploadResumeEvent,
  UploadStartEvent,
} from "../../protocol/events.ts";
import type { SessionSnapshot } from "../../protocol/session.ts";

/**
 * What the real-time layer may ask of the upload service. Every method throws AppError
 * with a spec code on refusal. The service is the only writer; sockets only send commands.
 */
export interface SessionCommands {
  /** Resolves when `token` grants access to `sessionId`; else INSUFFICIENT_PERMISSIONS / SESSION_NOT_FOUND. */
  authorize(token: string, sessionId: string): Promise<void>;
  snapshot(sessionId: string): Promise<SessionSnapshot>;
  start(command: UploadStartEvent): Promise<SessionSnapshot>;
  pause(command: UploadPauseEvent): Promise<SessionSnapshot>;
  resume(command: UploadResumeEvent): Promise<SessionSnapshot>;
  cancel(command: UploadCancelEvent): Promise<SessionSnapshot>;
}

/** Domain events, already in the spec's payload shapes, for one session room each. */
export interface RoomEventSource {
  subscribe(listener: (event: RoomEvent) => void): () => void;
}

export type { ProgressUpdateEvent, RoomEvent };
