/** A held lock. */
export interface Lock {
  release(): Promise<void>;
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
}

/** Per-upload mutual exclusion: in-process by default, Redis-backed across nodes. */
export interface Locker {
  /** Resolves with the lock, or rejects with LockTimeoutError. */
  acquire(key: string, options?: AcquireOptions): Promise<Lock>;
}

export class LockTimeoutError extends Error {
  constructor(key: string, timeoutMs: number) {
    super(`Cannot lock "${key}": still held after ${timeoutMs} ms`);
    this.name = "LockTimeoutError";
  }
}
