/** A held lock. */
export interface Lock {
  /** Lets go; idempotent, and a stale release never frees a key someone else holds now. */
  release(): Promise<void>;
  /**
   * Aborted (with a LockLostError) when this holding can no longer be proven: a renewal
   * failed, found the key taken, or did not answer within the lease. Whoever writes under
   * the lock stops writing then: another holder may already have the key. Not aborted by
   * release().
   */
  readonly lost: AbortSignal;
  /**
   * Fencing token: strictly greater than the fence of every earlier holding of the same key,
   * on any instance sharing the backend. Conditional writes carry it so that a writer whose
   * lease lapsed cannot overwrite its successor's work. Compare fences of one key only.
   */
  readonly fence: number;
}

export interface AcquireOptions {
  /** How long to wait for the holder to let go. Default 3000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Called on the holder when someone else asks for the lock (tus: a client that resumes
   * after a dropped connection must not wait for the stale request to time out).
   */
  onReleaseRequest?: () => void;
  /**
   * How long the backend keeps the key for a holder that stops renewing (a node that died);
   * the holder renews every third of it while held. Default: the locker's (10 s).
   */
  leaseMs?: number;
}

export type TryAcquireOptions = Pick<AcquireOptions, "onReleaseRequest" | "leaseMs">;

/** Per-upload mutual exclusion: in-process by default, Redis-backed across nodes. */
export interface Locker {
  /** Resolves with the lock, or rejects with LockTimeoutError (or the signal's reason). */
  acquire(key: string, options?: AcquireOptions): Promise<Lock>;
  /**
   * The lock if the key is free now (or its holder's lease ran out), else null; never waits
   * and never asks the holder to let go. For recovery and sweeps: "is the holder gone?".
   */
  tryAcquire(key: string, options?: TryAcquireOptions): Promise<Lock | null>;
}

export const DEFAULT_LEASE_MS = 10_000;
export const DEFAULT_TIMEOUT_MS = 3000;

export class LockTimeoutError extends Error {
  constructor(key: string, timeoutMs: number) {
    super(`Cannot lock "${key}": still held after ${timeoutMs} ms`);
    this.name = "LockTimeoutError";
  }
}

/** The reason of `Lock.lost`. */
export class LockLostError extends Error {
  constructor(key: string, why: string, options?: ErrorOptions) {
    super(`Lost the lock of "${key}": ${why}`, options);
    this.name = "LockLostError";
  }
}
