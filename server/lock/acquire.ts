import { AppError } from "../errors.ts";
import { type AcquireOptions, type Lock, type Locker, LockTimeoutError } from "./locker.ts";

/**
 * `locker.acquire`, with a wait that times out answered as `423 UPLOAD_LOCKED` and a
 * `Retry-After` of the wait itself: the holder is busy, not broken, so this is the client's
 * to retry (it was a 500 INTERNAL_ERROR, logged as our fault).
 */
export async function acquireOrLocked(
  locker: Locker,
  key: string,
  what: string,
  options: AcquireOptions & { timeoutMs: number },
): Promise<Lock> {
  try {
    return await locker.acquire(key, options);
  } catch (error) {
    if (!(error instanceof LockTimeoutError)) throw error;
    const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
    throw new AppError(
      "UPLOAD_LOCKED",
      `${what} is held by another request for over ${options.timeoutMs} ms; retry later`,
      { headers: { "Retry-After": String(seconds) }, cause: error },
    );
  }
}
