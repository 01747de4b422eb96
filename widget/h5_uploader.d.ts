/**
 * Types of `<h5-uploader>` for host pages, shipped as `dist/h5-uploader.d.ts` (the build
 * appends the `declare global` block that maps the tag and the `h5-*` events).
 *
 * Written by hand so that the bundle's consumers need neither Lit's nor the engine's
 * types; `widget/h5_uploader_types_test.ts` proves every declaration here matches the code.
 *
 * @example
 * ```ts
 * import type {} from "https://uploads.example/h5-uploader.d.ts";
 * document.querySelector("h5-uploader")!
 *   .addEventListener("h5-upload-complete", (e) => console.log(e.detail.uploadPath));
 * ```
 */

export type Category = "personal" | "scenic";
export type ClientType = "web" | "mobile";

export type FileStatus =
  | "queued"
  | "uploading"
  | "paused"
  | "retrying"
  | "completed"
  | "failed"
  | "cancelled";

/** The server's error codes (README, "Error codes"), plus NETWORK_ERROR from the browser. */
export type ErrorCode =
  | "SESSION_NOT_FOUND"
  | "INVALID_SESSION"
  | "FILE_NOT_FOUND"
  | "UPLOAD_NOT_STARTED"
  | "UPLOAD_ALREADY_COMPLETED"
  | "INSUFFICIENT_PERMISSIONS"
  | "RATE_LIMIT_EXCEEDED"
  | "CONNECTION_TIMEOUT"
  | "UPLOAD_PAUSED"
  | "UPLOAD_CANCELLED"
  | "UPLOAD_EXPIRED"
  | "UPLOAD_INTERRUPTED"
  | "UPLOAD_LOCKED"
  | "SESSION_TIMEOUT"
  | "SESSION_CLOSED"
  | "FILE_TOO_LARGE"
  | "REQUEST_TOO_LARGE"
  | "FILE_TYPE_NOT_ALLOWED"
  | "TOO_MANY_FILES"
  | "CHECKSUM_MISMATCH"
  | "CHECKSUM_UNSUPPORTED"
  | "CONCAT_PART_INVALID"
  | "OFFSET_MISMATCH"
  | "INVALID_REQUEST"
  | "METHOD_NOT_ALLOWED"
  | "NOT_FOUND"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "TUS_VERSION_UNSUPPORTED"
  | "ORIGIN_NOT_ALLOWED"
  | "MESSAGE_TOO_LARGE"
  | "STORAGE_ERROR"
  | "STORAGE_FULL"
  | "INTERNAL_ERROR"
  | "STATE_UNAVAILABLE"
  | "STORAGE_UNAVAILABLE";

export interface FileError {
  /** A server code, or the browser's own: NETWORK_ERROR, EMPTY_FILE (refused when picked). */
  code: ErrorCode | "NETWORK_ERROR" | "EMPTY_FILE";
  message: string;
}

/** One file. Immutable: every change produces a new object. */
export interface FileSnapshot {
  /** Local id; also the upload's id on the server (the form value once completed). */
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly type: string;
  readonly status: FileStatus;
  /** Bytes the browser has sent. */
  readonly bytesSent: number;
  /** Bytes the server confirmed. */
  readonly bytesConfirmed: number;
  /** 0..1, never decreasing. */
  readonly progress: number;
  /** Smoothed bytes per second while uploading, else 0. */
  readonly speed: number;
  /** Seconds left, smoothed; null when unknown. */
  readonly eta: number | null;
  /** Automatic retry in progress or done: attempt n of max. */
  readonly retry: { readonly attempt: number; readonly max: number } | null;
  readonly error: FileError | null;
  /** A manual retry is possible. */
  readonly canRetry: boolean;
  /** The tus upload URL once created. */
  readonly uploadUrl: string | null;
  /** Where the server stored the file, once completed. */
  readonly uploadPath: string | null;
  /** A file another device added to the same session (no preview). */
  readonly remote?: boolean;
  /**
   * An unfinished upload listed after a reload or a crash (status `paused`): `ready` continues
   * with the file the browser kept (up to `persist-max-size`), `file` wants the same file
   * picked again (matched by name, size, date and a SHA-256 of its first 64 KiB).
   */
  readonly waiting?: "ready" | "file" | null;
}

/**
 * `connected`: live; `reconnecting`: the socket dropped and is retried; `polling`: no socket,
 * the element asks the server every few seconds; `offline`: the browser has no network.
 */
export type ConnectionState =
  | "idle"
  | "connecting"
  | "connected"
  | "reconnecting"
  | "polling"
  | "offline";

/** The session's limits (from the server, once a session exists). */
export interface CategoryLimits {
  maxFileSize: number;
  maxFiles: number;
  allowedTypes: string[];
}

export interface Totals {
  readonly bytes: number;
  readonly done: number;
  /** 0..1: bytes stored over bytes of the files not cancelled (a refused file stores none). */
  readonly progress: number;
  readonly speed: number;
  readonly eta: number | null;
}

/** Everything the element knows (`element.state`). */
export interface UploaderState {
  readonly files: readonly FileSnapshot[];
  readonly connection: ConnectionState;
  readonly sessionId: string | null;
  readonly limits: CategoryLimits | null;
  readonly totals: Totals;
  /** Some file is uploading or retrying. */
  readonly busy: boolean;
  /** Every file is completed or cancelled and at least one completed. */
  readonly complete: boolean;
  /**
   * How the files ended once none is queued, uploading, retrying or paused: `completed` (all
   * uploaded, some perhaps cancelled), `failed` (one or more failed) or `cancelled` (all);
   * the server's `overallStatus` rule. null while a file is unfinished.
   */
  readonly ended: "completed" | "failed" | "cancelled" | null;
}

/** A file refused before anything was sent. */
export interface Rejection {
  readonly name: string;
  readonly reason: "type" | "size" | "count" | "empty";
  /** The limit it broke, formatted: accepted types, `2 GB`, a file count; "" when empty. */
  readonly limit: string;
  /** English; the element shows a translated message. */
  readonly message: string;
}

/** What `addFiles()` did. */
export interface AddResult {
  readonly added: readonly FileSnapshot[];
  readonly rejected: readonly Rejection[];
}

/** Base of the element's events: bubbling, composed, with a read-only `detail`. */
export declare class H5Event<T> extends Event {
  readonly detail: Readonly<T>;
  constructor(type: string, detail: T);
}

/** `h5-upload-start`: a file's transfer began. */
export declare class H5UploadStartEvent extends H5Event<{ file: FileSnapshot }> {
  static readonly eventName: "h5-upload-start";
  constructor(detail: { file: FileSnapshot });
}

/** `h5-upload-progress`: a file progressed. */
export declare class H5UploadProgressEvent extends H5Event<{ file: FileSnapshot; totals: Totals }> {
  static readonly eventName: "h5-upload-progress";
  constructor(detail: { file: FileSnapshot; totals: Totals });
}

/** `h5-upload-complete`: the server has the whole file. */
export declare class H5UploadCompleteEvent
  extends H5Event<{ file: FileSnapshot; uploadPath: string }> {
  static readonly eventName: "h5-upload-complete";
  constructor(detail: { file: FileSnapshot; uploadPath: string });
}

/** `h5-upload-error`: a file failed; `willRetry` tells whether an automatic retry follows. */
export declare class H5UploadErrorEvent
  extends H5Event<{ file: FileSnapshot; error: FileError; willRetry: boolean }> {
  static readonly eventName: "h5-upload-error";
  constructor(detail: { file: FileSnapshot; error: FileError; willRetry: boolean });
}

export interface SessionCompleteDetail {
  sessionId: string;
  files: readonly FileSnapshot[];
  uploadPaths: string[];
  /** Ids of the completed files (the form value). */
  readonly fileIds: readonly string[];
}

/** `h5-session-complete`: every file is done. */
export declare class H5SessionCompleteEvent extends H5Event<SessionCompleteDetail> {
  static readonly eventName: "h5-session-complete";
  constructor(detail: Omit<SessionCompleteDetail, "fileIds">);
}

/**
 * `<h5-uploader>`: resumable uploads with live progress. See custom-elements.json for the
 * attributes, parts and custom properties.
 */
export declare class H5Uploader extends HTMLElement {
  static readonly formAssociated: true;
  /** Server base URL; "" means the origin the script was loaded from. */
  endpoint: string;
  category: Category;
  accept: string;
  maxFiles: number | undefined;
  /** Bytes (the `max-size` attribute also takes `20MB`, `2GiB`). */
  maxSize: number | undefined;
  multiple: boolean;
  capture: "user" | "environment" | "";
  token: string;
  /** Bytes per PATCH (the `chunk-size` attribute also takes `8MB`). */
  chunkSize: number | undefined;
  /** Seconds without upload progress before a stalled request is retried (the `stall-timeout` attribute; 0: never). Default 20. */
  stallTimeout: number | undefined;
  /** Files up to this many bytes are kept in IndexedDB to continue after a reload without a pick (the `persist-max-size` attribute; 0: none). Default 32 MiB. */
  persistMaxSize: number | undefined;
  autoStart: boolean;
  name: string;
  required: boolean;
  /** "" picks `mobile` on touch screens, else `web`. */
  clientType: ClientType | "";
  /** The session in use: the one given by `session-id`, else the one created. */
  get sessionId(): string | null;
  set sessionId(value: string | null);

  /** Every file. */
  readonly files: readonly FileSnapshot[];
  readonly state: UploaderState;
  readonly connection: ConnectionState;
  /** Ids of the completed files (the form value). */
  readonly uploadedIds: string[];
  readonly uploadPaths: string[];
  readonly busy: boolean;
  readonly complete: boolean;

  /** Adds files, checked against accept, max-size and max-files. */
  addFiles(files: Iterable<File> | ArrayLike<File>): AddResult;
  /** Starts uploading the queued files (needed unless `auto-start`). */
  start(): Promise<void>;
  pauseAll(): void;
  resumeAll(): void;
  cancelAll(): void;
}
