/** What a failed request means for the upload, and when the next automatic try comes. */

/**
 * - `retry`: transient (network, 5xx, interrupted, locked): back off, HEAD, continue.
 * - `offset`: 409 offset mismatch: continue from the server's offset.
 * - `paused`: 423 UPLOAD_PAUSED: paused by the server (another device), no retry.
 * - `cancelled`: the upload was cancelled elsewhere.
 * - `gone`: 404/410 of the upload: it no longer exists, create a new one.
 * - `final`: the server refused for good (413, 415, 403, ...).
 */
export type Verdict = "retry" | "offset" | "paused" | "cancelled" | "gone" | "final";

/** Codes worth an automatic retry from the server's offset. */
export function transient(code: string): boolean {
  // NETWORK_ERROR, UPLOAD_INTERRUPTED, UPLOAD_LOCKED, CHECKSUM_MISMATCH, OFFSET_MISMATCH,
  // STORAGE_ERROR, STORAGE_FULL, STORAGE_UNAVAILABLE, STATE_UNAVAILABLE, INTERNAL_ERROR,
  // RATE_LIMIT_EXCEEDED, CONNECTION_TIMEOUT
  return /^(NET|UPLOAD_[IL]|CHECKSUM_M|OFFSET|STORAGE|STATE_U|INTERNAL|RATE|CONNECTION)/.test(code);
}

export function verdict(status: number, code: string): Verdict {
  if (code === "OFFSET_MISMATCH") return "offset";
  if (code === "UPLOAD_PAUSED") return "paused";
  if (code === "UPLOAD_CANCELLED") return "cancelled";
  if (code === "SESSION_TIMEOUT" || code === "SESSION_NOT_FOUND") return "final";
  if (status === 404 || status === 410) return "gone";
  if (transient(code) || status === 0 || status >= 500 || status === 408 || status === 429) {
    return "retry";
  }
  return "final";
}

/** Whether a manual retry can help: not for type, size, permissions or a closed session. */
export function manuallyRetryable(code: string): boolean {
  return !/^(FILE_T|UNSUPPORTED_M|INSUFFICIENT|SESSION_|UPLOAD_CANCELLED)/.test(code);
}

/**
 * Full-jitter exponential backoff (AWS "Exponential Backoff And Jitter"): a uniform wait
 * below a ceiling that doubles from 1 s per attempt up to 30 s, so phones that lost the same
 * cell tower do not come back in step. `random` is in [0, 1).
 */
export function backoff(attempt: number, random: () => number, base = 1000, cap = 30_000): number {
  return Math.round(random() * Math.min(cap, base * 2 ** (attempt - 1)));
}
