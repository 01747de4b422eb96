/**
 * The element's DOM events: small classes, all `bubbles: true, composed: true`, so a host
 * page hears them on the element or on any ancestor (document included). The names carry
 * an `h5-` prefix because `progress` and `error` are native event names.
 *
 * ```js
 * document.addEventListener("h5-upload-complete", (e) => console.log(e.detail.uploadPath));
 * ```
 */
import type { EngineEvents } from "./engine/types.ts";

/** Base of the element's events: bubbling, composed, with a typed read-only `detail`. */
export class H5Event<T> extends Event {
  readonly detail: Readonly<T>;
  constructor(type: string, detail: T) {
    super(type, { bubbles: true, composed: true });
    this.detail = detail;
  }
}

/** `h5-upload-start`: a file's transfer began (first attempt, or after resume/retry). */
export class H5UploadStartEvent extends H5Event<EngineEvents["upload-start"]> {
  static readonly eventName = "h5-upload-start";
  constructor(detail: EngineEvents["upload-start"]) {
    super(H5UploadStartEvent.eventName, detail);
  }
}

/** `h5-upload-progress`: a file's progress changed, with the totals (throttled by the engine). */
export class H5UploadProgressEvent extends H5Event<EngineEvents["upload-progress"]> {
  static readonly eventName = "h5-upload-progress";
  constructor(detail: EngineEvents["upload-progress"]) {
    super(H5UploadProgressEvent.eventName, detail);
  }
}

/** `h5-upload-complete`: the server has the whole file; `uploadPath` is where it is stored. */
export class H5UploadCompleteEvent extends H5Event<EngineEvents["upload-complete"]> {
  static readonly eventName = "h5-upload-complete";
  constructor(detail: EngineEvents["upload-complete"]) {
    super(H5UploadCompleteEvent.eventName, detail);
  }
}

/** `h5-upload-error`: a file failed; `willRetry` tells whether an automatic retry follows. */
export class H5UploadErrorEvent extends H5Event<EngineEvents["upload-error"]> {
  static readonly eventName = "h5-upload-error";
  constructor(detail: EngineEvents["upload-error"]) {
    super(H5UploadErrorEvent.eventName, detail);
  }
}

/** Detail of `h5-session-complete`: the engine's, plus the completed ids (the form value). */
export type SessionCompleteDetail = EngineEvents["session-complete"] & {
  readonly fileIds: readonly string[];
};

/** `h5-session-complete`: every file is completed or cancelled and at least one completed. */
export class H5SessionCompleteEvent extends H5Event<SessionCompleteDetail> {
  static readonly eventName = "h5-session-complete";
  constructor(detail: EngineEvents["session-complete"]) {
    super(H5SessionCompleteEvent.eventName, {
      ...detail,
      fileIds: detail.files.filter((f) => f.status === "completed").map((f) => f.id),
    });
  }
}

/** The engine event each DOM event re-dispatches. */
export const DOM_EVENTS = {
  "upload-start": H5UploadStartEvent,
  "upload-progress": H5UploadProgressEvent,
  "upload-complete": H5UploadCompleteEvent,
  "upload-error": H5UploadErrorEvent,
  "session-complete": H5SessionCompleteEvent,
} as const satisfies { [K in keyof EngineEvents]: new (detail: EngineEvents[K]) => Event };

declare global {
  interface GlobalEventHandlersEventMap {
    "h5-upload-start": H5UploadStartEvent;
    "h5-upload-progress": H5UploadProgressEvent;
    "h5-upload-complete": H5UploadCompleteEvent;
    "h5-upload-error": H5UploadErrorEvent;
    "h5-session-complete": H5SessionCompleteEvent;
  }
}
