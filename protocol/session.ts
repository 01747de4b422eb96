import type { Category, ProgressUpdateEvent } from "./events.ts";

/** Limits of one category, as returned by session creation and `GET /api/categories`. */
export interface CategoryLimits {
  maxFileSize: number;
  maxFiles: number;
  /** MIME types or patterns such as `image/*`. */
  allowedTypes: string[];
}

/** `POST /api/sessions` body. */
export interface CreateSessionRequest {
  category: Category;
  clientType: "web" | "mobile";
}

/** `POST /api/sessions` answer (201). */
export interface CreateSessionResponse {
  sessionId: string;
  token: string;
  expiresAt: string;
  limits: CategoryLimits;
  /** Absolute URL of the tus endpoint. */
  uploadUrl: string;
}

/** The socket's progress payload with every file (command acks, `requestUpdate` answers). */
export type SessionSnapshot = ProgressUpdateEvent & {
  files: NonNullable<ProgressUpdateEvent["files"]>;
};

/**
 * `GET /api/sessions/:id`: the snapshot plus the session's category and limits, so a page
 * handed only a session id can check files when they are picked, before any upload request.
 */
export type SessionResponse = SessionSnapshot & {
  category: Category;
  limits: CategoryLimits;
};

/** `GET /api/categories` (public, cacheable): every category's limits, before any session. */
export interface CategoriesResponse {
  categories: Record<Category, CategoryLimits>;
}

/**
 * `POST /api/sessions/:id/files/:fileId/{pause,resume,cancel}` (200): the very ack the socket's
 * `upload-pause` / `upload-resume` / `upload-cancel` gives (errors use the usual error body).
 */
export interface FileCommandResponse {
  ok: true;
  data: SessionSnapshot;
}

/** Optional body of those commands; `reason` goes to `upload-paused` / `upload-cancelled`. */
export interface FileCommandRequest {
  reason?: string;
}
