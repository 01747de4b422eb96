/**
 * Deadlines for end-to-end waits. These tests never sleep to synchronise: every wait is on
 * an event or a promise, bounded by a generous deadline that fails the test with a message
 * saying what did not happen (instead of hanging until the runner gives up).
 */

/** The default bound of one wait; generous because CI machines are slow. */
export const WAIT_MS = 30_000;

export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`Timed out after ${ms} ms waiting for ${what}`);
    this.name = "DeadlineError";
  }
}

/** `promise`, or a rejection naming `what` after `ms`; the timer never outlives the wait. */
export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
