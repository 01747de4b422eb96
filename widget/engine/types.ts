/**
 * The widget engine's public shapes. The engine has no DOM: the browser wiring (XHR,
 * localStorage, socket.io-client) is injected, so it runs and is tested under `deno test`.
 */
import type { Category, ClientType } from "../../protocol/events.ts";
import type { CategoryLimits } from "../../protocol/session.ts";
import type { ErrorPayload } from "../../protocol/errors.ts";
import type { BlobStore } from "./blob_store.ts";

/** What the engine needs of a File: a Blob with a name (a browser File fits). */
export interface FileLike {
  readonly name: string;
  readonly size: number;
  readonly type: string;
  readonly lastModified: number;
  slice(start?: number, end?: number): Blob;
}

export type FileStatus =
  | "queued"
  | "uploading"
  | "paused"
  | "retrying"
  | "completed"
  | "failed"
  | "cancelled";

export interface FileError {
  /** A server code, or the browser's own: NETWORK_ERROR, EMPTY_FILE (refused when picked). */
  code: ErrorPayload["code"] | "NETWORK_ERROR" | "EMPTY_FILE";
  message: string;
}

/** One file as the view shows it. Immutable: every change produces a new object. */
export interface FileSnapshot {
  /** Local id; also the tus `fileId` metadata, so the server's events name it. */
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly type: string;
  readonly status: FileStatus;
  /** Bytes the browser has sent (XHR upload progress). */
  readonly bytesSent: number;
  /** Bytes the server confirmed (socket progress, HEAD, PATCH answers). */
  readonly bytesConfirmed: number;
  /** 0..1, never decreasing: max(sent, confirmed) / size. */
  readonly progress: number;
  /** Smoothed bytes per second while uploading, else 0. */
  readonly speed: number;
  /** Seconds left, smoothed; null when unknown. */
  readonly eta: number | null;
  /** Automatic retry in progress or done: attempt n of max. */
  readonly retry: { readonly attempt: number; readonly max: number } | null;
  readonly error: FileError | null;
  /** A manual retry button makes sense (failed and the failure is retryable by hand). */
  readonly canRetry: boolean;
  readonly uploadUrl: string | null;
  /** Server path once completed (`uploadPath`). */
  readonly uploadPath: string | null;
  /**
   * Added: a file of another device in the same session, known from the room (no File
   * here, so no thumbnail; pause/resume/cancel are sent to its owner as socket commands).
   */
  readonly remote?: boolean;
  /**
   * Added: an unfinished upload listed after a reload (status `paused`). `ready`: its file
   * was kept in the browser and resume() continues it; `file`: continueWith() the same file.
   */
  readonly waiting?: "ready" | "file" | null;
}

/**
 * `connected`: the socket is live; `reconnecting`: it dropped and socket.io retries;
 * `polling`: no socket, GET /api/sessions/:id every few seconds; `offline`: the browser says
 * the network is gone (the element's view; the engine itself never reports it).
 */
export type ConnectionState =
  | "idle"
  | "connecting"
  | "connected"
  | "reconnecting"
  | "polling"
  | "offline";

export interface EngineSnapshot {
  readonly files: readonly FileSnapshot[];
  readonly connection: ConnectionState;
  readonly sessionId: string | null;
  readonly limits: CategoryLimits | null;
  readonly totals: {
    readonly bytes: number;
    readonly done: number;
    /** 0..1: bytes stored over bytes of the files not cancelled (a refused file stores none). */
    readonly progress: number;
    readonly speed: number;
    readonly eta: number | null;
  };
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

/** A file the engine refused before sending anything. */
export interface Rejection {
  readonly name: string;
  readonly reason: "type" | "size" | "count" | "empty";
  /** The limit it broke, formatted: accepted types, `2 GB`, a file count; "" when empty. */
  readonly limit: string;
  readonly message: string;
}

/** Events for the host page (the view re-dispatches them as DOM events). */
export interface EngineEvents {
  "upload-start": { file: FileSnapshot };
  "upload-progress": { file: FileSnapshot; totals: EngineSnapshot["totals"] };
  "upload-complete": { file: FileSnapshot; uploadPath: string };
  "upload-error": { file: FileSnapshot; error: FileError; willRetry: boolean };
  "session-complete": { sessionId: string; files: readonly FileSnapshot[]; uploadPaths: string[] };
}

/** Key-value persistence for resume after reload (localStorage in a browser). */
export interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

/** One HTTP request with upload progress (XHR in a browser, fetch in tests). */
export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PATCH" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body?: Blob | string | null;
  signal?: AbortSignal;
  onUploadProgress?: (sentBytes: number) => void;
}
export interface HttpResponse {
  status: number;
  header(name: string): string | null;
  text: string;
}
export interface HttpStack {
  /** Rejects only on network failure or abort (a TypeError / AbortError), never on status. */
  send(request: HttpRequest): Promise<HttpResponse>;
}

export interface EngineOptions {
  /** Server base URL, e.g. "https://uploads.example" (the widget's origin by default). */
  endpoint: string;
  category: Category;
  clientType: ClientType;
  /** Given by a host page whose backend created the session. */
  sessionId?: string;
  token?: string;
  /** Bytes per PATCH. Default Infinity: one PATCH per file (the server commits durable offsets every 250 ms, so it still resumes). */
  chunkSize?: number;
  /**
   * Automatic retries in a row without progress (an attempt that moved the server's offset
   * resets the count). The server's `maxRetries` (from `upload-failed`) wins once heard.
   * Default 5.
   */
  maxRetries?: number;
  /** Random source in [0, 1) of the backoff jitter. Default Math.random. */
  random?: () => number;
  /**
   * Ms without acknowledged upload progress after which a request is aborted and the upload
   * resumes from a HEAD. 0: never. Default 20000.
   */
  stallTimeoutMs?: number;
  /**
   * Subscribes to "the network may be back" (window `online`, page visible again): waiting
   * retries go at once. Returns the unsubscribe. In a browser: `browserWake`.
   */
  wake?: (listener: () => void) => () => void;
  /** Parallel uploads. Default 2. */
  parallel?: number;
  autoStart?: boolean;
  /** Client-side checks before anything is sent (the server's limits apply too). */
  accept?: string;
  maxFiles?: number;
  maxSize?: number;
  http: HttpStack;
  store: KeyValueStore;
  /** Keeps picked files for a reload (IndexedDB in a browser); none: the file is asked for. */
  blobs?: BlobStore;
  /** Files up to this size (bytes) go in `blobs`. Default 32 MiB. */
  persistMaxSize?: number;
  /** Opens the session's Socket.IO connection; null disables sockets (polling only). */
  connectSocket:
    | ((
      options: {
        url: string;
        sessionId: string;
        token: string;
        clientType: ClientType;
        /** Attempts since the last connection, for the handshake's `auth` (read per attempt). */
        reconnectAttempts: () => number;
      },
    ) => RealtimeSocket)
    | null;
  /** Polling interval of GET /api/sessions/:id while the socket is down. Default 2000. */
  pollIntervalMs?: number;
  now?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/** What the engine uses of a socket.io-client Socket (so tests may fake it). */
export interface RealtimeSocket {
  on(event: string, listener: (...args: unknown[]) => void): void;
  emit(event: string, ...args: unknown[]): void;
  disconnect(): void;
  /** A new attempt (the engine redials while it polls). */
  connect(): void;
  readonly connected: boolean;
  readonly io: {
    on(event: string, listener: (...args: unknown[]) => void): void;
    /** socket.io's Manager: reads, or with a value sets, whether it reconnects by itself. */
    reconnection?(value?: boolean): unknown;
  };
}
