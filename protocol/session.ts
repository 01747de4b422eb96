import type { Category, ProgressUpdateEvent } from "./events.ts";

/** Limits of one category, as returned by session creation. */
export interface CategoryLimits {
  maxFileSize: number;
  maxFiles: number;
  /** MIME types or patterns such as `image/*`. */
  allowedTypes: string[];
}

/** `GET /api/categories`: every category's limits (public, cacheable). */
export interface CategoriesResponse {
  categories: Record<Category, CategoryLimits>;
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

/** `GET /api/sessions/:id`: the socket's progress payload with every file. */
export type SessionSnapshot = ProgressUpdateEvent & {
  files: NonNullable<ProgressUpdateEvent["files"]>;
};
