import { Lease } from "./lease.ts";
import {
  type AcquireOptions,
  DEFAULT_LEASE_MS,
  DEFAULT_TIMEOUT_MS,
  type Lock,
  type Locker,
  LockTimeoutError,
  type TryAcquireOptions,
} from "./locker.ts";

/** One MemoryLocker, as a node of its backend; `crashed` is the test hook's dead node. */
interface Node {
  crashed: boolean;
}

interface Holding {
  node: Node;
  onReleaseRequest?: () => void;
  releaseRequested: boolean;
  leaseMs: number;
  expiresAt: number;
  lease: Lease;
}

interface Waiter {
  node: Node;
  options: TryAcquireOptions;
  grant(lock: Lock): void;
}

interface KeyState {
  holder: Holding | null;
  waiters: Waiter[];
  expiry: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The keys of in-process lockers. One per locker by default; lockers given the same backend
 * behave like nodes sharing one Redis (the contract's two-instance cases). Waiters are served
 * first come, first served, which the Locker contract allows but does not require.
 */
export class MemoryLockBackend {
  #keys = new Map<string, KeyState>();
  /** One counter for every key: fences then increase per key, which is all a fence promises. */
  #fence = 0;

  acquire(node: Node, key: string, options: AcquireOptions, leaseMs: number): Promise<Lock> {
    const { timeoutMs = DEFAULT_TIMEOUT_MS, signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const state = this.#state(key);
    if (!state.holder) return Promise.resolve(this.#grant(key, state, node, options, leaseMs));

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
        node,
        options,
        grant: (lock) => {
          leave();
          resolve(lock);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      state.waiters.push(waiter);
      if (state.holder) requestRelease(state.holder);
    });
  }

  tryAcquire(node: Node, key: string, options: TryAcquireOptions, leaseMs: number): Lock | null {
    const state = this.#state(key);
    return state.holder ? null : this.#grant(key, state, node, options, leaseMs);
  }

  /** The key's state, its holder evicted first if the lease ran out (a dead holder). */
  #state(key: string): KeyState {
    const known = this.#keys.get(key);
    if (known?.holder && known.holder.expiresAt <= performance.now()) this.#expire(key, known);
    let state = this.#keys.get(key);
    if (!state) {
      state = { holder: null, waiters: [], expiry: undefined };
      this.#keys.set(key, state);
    }
    return state;
  }

  #grant(
    key: string,
    state: KeyState,
    node: Node,
    options: TryAcquireOptions,
    defaultLeaseMs: number,
  ): Lock {
    const leaseMs = options.leaseMs ?? defaultLeaseMs;
    const fence = ++this.#fence;
    const holding: Holding = {
      node,
      onReleaseRequest: options.onReleaseRequest,
      releaseRequested: false,
      leaseMs,
      expiresAt: performance.now() + leaseMs,
      lease: new Lease(key, leaseMs, () => {
        if (node.crashed) return Promise.reject(new Error("the locker crashed (test hook)"));
        if (state.holder !== holding || this.#keys.get(key) !== state) {
          return Promise.resolve(false);
        }
        holding.expiresAt = performance.now() + leaseMs;
        this.#armExpiry(key, state);
        return Promise.resolve(true);
      }),
    };
    state.holder = holding;
    holding.lease.start(performance.now());
    this.#armExpiry(key, state);
    let released = false;
    return {
      fence,
      lost: holding.lease.lost,
      release: () => {
        // A second release must not hand over a lock that now belongs to someone else.
        if (released) return Promise.resolve();
        released = true;
        holding.lease.stop();
        // A dead node's release never reaches the backend: its lease runs out instead.
        if (!node.crashed && state.holder === holding) this.#handOver(key, state);
        return Promise.resolve();
      },
    };
  }

  /** A timer at the holder's expiry, so that waiters of a dead holder get the key. */
  #armExpiry(key: string, state: KeyState): void {
    clearTimeout(state.expiry);
    const holder = state.holder;
    if (!holder) return;
    state.expiry = setTimeout(() => {
      if (state.holder !== holder) return;
      if (holder.expiresAt <= performance.now()) this.#expire(key, state);
      else this.#armExpiry(key, state);
    }, Math.max(0, holder.expiresAt - performance.now()));
  }

  #expire(key: string, state: KeyState): void {
    // In one process the evicted holder can be told at once, before anyone else writes.
    state.holder?.lease.lose(`its ${state.holder.leaseMs} ms lease ran out`);
    this.#handOver(key, state);
  }

  #handOver(key: string, state: KeyState): void {
    clearTimeout(state.expiry);
    state.holder = null;
    const next = state.waiters[0];
    if (!next) {
      this.#keys.delete(key);
      return;
    }
    const lock = this.#grant(key, state, next.node, next.options, DEFAULT_LEASE_MS);
    next.grant(lock);
    // Whoever is still queued is now waiting on the new holder, so ask it to let go too.
    if (state.waiters.length > 0 && state.holder) requestRelease(state.holder);
  }
}

/** In-process per-key lock with leases and fences; see MemoryLockBackend. */
export class MemoryLocker implements Locker {
  readonly #backend: MemoryLockBackend;
  readonly #leaseMs: number;
  readonly #node: Node = { crashed: false };

  constructor(options: { backend?: MemoryLockBackend; leaseMs?: number } = {}) {
    this.#backend = options.backend ?? new MemoryLockBackend();
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  acquire(key: string, options: AcquireOptions = {}): Promise<Lock> {
    const leaseMs = options.leaseMs ?? this.#leaseMs;
    return this.#backend.acquire(this.#node, key, { ...options, leaseMs }, leaseMs);
  }

  tryAcquire(key: string, options: TryAcquireOptions = {}): Promise<Lock | null> {
    const leaseMs = options.leaseMs ?? this.#leaseMs;
    return Promise.resolve(this.#backend.tryAcquire(this.#node, key, options, leaseMs));
  }

  /**
   * Test hook: this locker's node dies without releasing anything. Its renewals fail (so
   * its `lost` signals fire), its releases and release requests no longer reach the
   * backend, and other lockers on the backend get its keys when the leases run out.
   */
  crash(): void {
    this.#node.crashed = true;
  }
}

/** Asks a holder to let go, at most once per holding; a dead node hears nothing. */
function requestRelease(holder: Holding): void {
  if (holder.releaseRequested || !holder.onReleaseRequest || holder.node.crashed) return;
  holder.releaseRequested = true;
  // A microtask keeps the holder's callback (and anything it throws) out of the waiter's
  // bookkeeping, which is already complete by then.
  queueMicrotask(holder.onReleaseRequest);
}
