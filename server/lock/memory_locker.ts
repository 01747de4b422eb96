import { type AcquireOptions, type Lock, type Locker, LockTimeoutError } from "./locker.ts";

const DEFAULT_TIMEOUT_MS = 3000;

interface Holder {
  onReleaseRequest?: () => void;
  releaseRequested: boolean;
}

interface Waiter {
  holder: Holder;
  grant(): void;
}

interface KeyState {
  holder: Holder;
  waiters: Waiter[];
}

/** In-process per-key lock; waiters are served first come, first served. */
export class MemoryLocker implements Locker {
  #keys = new Map<string, KeyState>();

  acquire(key: string, options: AcquireOptions = {}): Promise<Lock> {
    const { timeoutMs = DEFAULT_TIMEOUT_MS, signal, onReleaseRequest } = options;
    const holder: Holder = { onReleaseRequest, releaseRequested: false };
    if (signal?.aborted) return Promise.reject(signal.reason);

    const state = this.#keys.get(key);
    if (!state) {
      this.#keys.set(key, { holder, waiters: [] });
      return Promise.resolve(this.#lock(key));
    }

    return new Promise<Lock>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const index = state.waiters.indexOf(waiter);
        if (index !== -1) state.waiters.splice(index, 1);
      };
      const onAbort = () => {
        leave();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        leave();
        reject(new LockTimeoutError(key, timeoutMs));
      }, timeoutMs);
      const waiter: Waiter = {
        holder,
        grant: () => {
          leave();
          resolve(this.#lock(key));
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      state.waiters.push(waiter);
      requestRelease(state.holder);
    });
  }

  #lock(key: string): Lock {
    let released = false;
    return {
      release: () => {
        // A second release must not hand over a lock that now belongs to someone else.
        if (released) return Promise.resolve();
        released = true;
        this.#handOver(key);
        return Promise.resolve();
      },
    };
  }

  #handOver(key: string): void {
    const state = this.#keys.get(key);
    if (!state) return;
    const next = state.waiters[0];
    if (!next) {
      this.#keys.delete(key);
      return;
    }
    state.holder = next.holder;
    next.grant();
    // Whoever is still queued is now waiting on the new holder, so ask it to let go too.
    if (state.waiters.length > 0) requestRelease(state.holder);
  }
}

/** Asks a holder to let go, at most once per holding. */
function requestRelease(holder: Holder): void {
  if (holder.releaseRequested || !holder.onReleaseRequest) return;
  holder.releaseRequested = true;
  // A microtask keeps the holder's callback (and anything it throws) out of the waiter's
  // bookkeeping, which is already complete by then.
  queueMicrotask(holder.onReleaseRequest);
}
