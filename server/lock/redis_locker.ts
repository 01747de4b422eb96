import type { createClient } from "redis";
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

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisLockerOptions {
  /** Connected; runs the scripts. Owned by the caller (close() leaves it open). */
  client: RedisClient;
  /** Connected, for pub/sub only (e.g. `client.duplicate()`); may be shared. Caller's too. */
  subscriber: RedisClient;
  /** Prefix of every Redis key and channel. Default "h5:". */
  prefix?: string;
  leaseMs?: number;
  /**
   * A waiter tries again at least this often even without a release message: pub/sub
   * messages are lost while a connection reconnects. Default 1000 ms.
   */
  pollMs?: number;
}

/**
 * Takes the key if free: SET NX PX, and the fence from one counter for every key (INCR is
 * atomic with the grant, so fences of a key increase in grant order). Else answers who holds
 * it and for how long, so that the waiter can ask that holder and retry at its expiry.
 */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, redis.call('GET', KEYS[1]) or '', redis.call('PTTL', KEYS[1])}`;

/** Compare-token renewal: a holder whose lease ran out must not extend its successor's. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Compare-token release, and the message that wakes the waiters of every node. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0`;

interface Holding {
  token: string;
  onReleaseRequest?: () => void;
  releaseRequested: boolean;
}

interface Waiter {
  poked: boolean;
  wake?: () => void;
}

type Attempt = { lock: Lock } | { holder: string; pttl: number };

/**
 * Locks in Redis, for several nodes: a key is `SET NX PX <lease>` with a token naming the
 * node, renewed and released by compare-token scripts. Waiters wake on a pub/sub message
 * published by the release script (with a bounded re-poll, and a retry at the holder's
 * expiry for a holder that died), and ask the holder to let go on its node's own channel.
 * No FIFO order: whoever retries first after a release wins.
 */
export class RedisLocker implements Locker {
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #node = crypto.randomUUID();
  #tokens = 0;
  #holdings = new Map<string, Holding>();
  #leases = new Set<Lease>();
  #waiters = new Map<string, Set<Waiter>>();
  #closed = false;

  private constructor(options: RedisLockerOptions) {
    this.#client = options.client;
    this.#subscriber = options.subscriber;
    this.#prefix = options.prefix ?? "h5:";
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#pollMs = options.pollMs ?? 1000;
  }

  /** A locker whose channels are subscribed (no release message can be missed after this). */
  static async start(options: RedisLockerOptions): Promise<RedisLocker> {
    const locker = new RedisLocker(options);
    await locker.#subscriber.subscribe(locker.#releasedChannel, locker.#onReleased);
    await locker.#subscriber.subscribe(locker.#askChannel(locker.#node), locker.#onAsked);
    return locker;
  }

  async acquire(key: string, options: AcquireOptions = {}): Promise<Lock> {
    const { timeoutMs = DEFAULT_TIMEOUT_MS, signal } = options;
    if (signal?.aborted) throw signal.reason;
    const deadline = performance.now() + timeoutMs;
    const token = this.#newToken();
    const waiter: Waiter = { poked: false };
    let waiters = this.#waiters.get(key);
    if (!waiters) this.#waiters.set(key, waiters = new Set());
    waiters.add(waiter);
    let asked = "";
    try {
      while (true) {
        waiter.poked = false;
        const attempt = await this.#attempt(key, token, options);
        if ("lock" in attempt) {
          // Aborted or timed out while the attempt was in flight: not ours to keep.
          if (signal?.aborted || performance.now() > deadline) await attempt.lock.release();
          else return attempt.lock;
        } else if (attempt.holder !== asked) {
          asked = attempt.holder;
          await this.#ask(key, attempt.holder);
        }
        if (signal?.aborted) throw signal.reason;
        const left = deadline - performance.now();
        if (left <= 0) throw new LockTimeoutError(key, timeoutMs);
        const expiry = "pttl" in attempt && attempt.pttl > 0 ? attempt.pttl + 1 : this.#pollMs;
        if (!waiter.poked) await pause(waiter, Math.min(left, expiry, this.#pollMs), signal);
      }
    } finally {
      waiters.delete(waiter);
      if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
    }
  }

  async tryAcquire(key: string, options: TryAcquireOptions = {}): Promise<Lock | null> {
    const attempt = await this.#attempt(key, this.#newToken(), options);
    return "lock" in attempt ? attempt.lock : null;
  }

  /** Unsubscribes; locks still held are given up (their `lost` fires), not released. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const lease of this.#leases) lease.lose("the locker was closed");
    await this.#subscriber.unsubscribe(this.#releasedChannel, this.#onReleased);
    await this.#subscriber.unsubscribe(this.#askChannel(this.#node), this.#onAsked);
  }

  async #attempt(key: string, token: string, options: TryAcquireOptions): Promise<Attempt> {
    if (this.#closed) throw new Error("the RedisLocker is closed");
    const leaseMs = options.leaseMs ?? this.#leaseMs;
    const sentAt = performance.now();
    const reply = await this.#client.eval(ACQUIRE, {
      keys: [this.#lockKey(key), `${this.#prefix}lock-fence`],
      arguments: [token, String(leaseMs)],
    }) as [number, number | string, number?];
    if (reply[0] === 1) {
      return { lock: this.#hold(key, token, Number(reply[1]), leaseMs, sentAt, options) };
    }
    return { holder: String(reply[1]), pttl: Number(reply[2] ?? -1) };
  }

  #hold(
    key: string,
    token: string,
    fence: number,
    leaseMs: number,
    sentAt: number,
    options: TryAcquireOptions,
  ): Lock {
    const holding: Holding = {
      token,
      onReleaseRequest: options.onReleaseRequest,
      releaseRequested: false,
    };
    this.#holdings.set(key, holding);
    const lockKey = this.#lockKey(key);
    const lease = new Lease(key, leaseMs, async () => {
      const renewed = await this.#client.eval(RENEW, {
        keys: [lockKey],
        arguments: [token, String(leaseMs)],
      });
      return renewed === 1;
    });
    this.#leases.add(lease);
    lease.start(sentAt);
    let released = false;
    return {
      fence,
      lost: lease.lost,
      release: async () => {
        if (released) return;
        released = true;
        lease.stop();
        this.#leases.delete(lease);
        if (this.#holdings.get(key) === holding) this.#holdings.delete(key);
        try {
          await this.#client.eval(RELEASE, {
            keys: [lockKey],
            arguments: [token, this.#releasedChannel, key],
          });
        } catch (error) {
          // A lost lock is given up already; otherwise its lease frees it, but say so.
          if (!lease.lost.aborted) throw error;
        }
      },
    };
  }

  /** Asks the holder (by the node in its token) to let go, through its node's channel. */
  async #ask(key: string, holderToken: string): Promise<void> {
    const node = holderToken.slice(0, holderToken.lastIndexOf(":"));
    if (!node) return;
    if (node === this.#node) return this.#requestRelease(key, holderToken);
    await this.#client.publish(this.#askChannel(node), JSON.stringify([key, holderToken]));
  }

  #requestRelease(key: string, token: string): void {
    const holding = this.#holdings.get(key);
    if (!holding || holding.token !== token || holding.releaseRequested) return;
    if (!holding.onReleaseRequest) return;
    holding.releaseRequested = true;
    queueMicrotask(holding.onReleaseRequest);
  }

  readonly #onReleased = (key: string) => {
    for (const waiter of this.#waiters.get(key) ?? []) {
      waiter.poked = true;
      waiter.wake?.();
    }
  };

  readonly #onAsked = (message: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(parsed) || parsed.length !== 2) return;
    const [key, token] = parsed;
    if (typeof key === "string" && typeof token === "string") this.#requestRelease(key, token);
  };

  #newToken(): string {
    return `${this.#node}:${++this.#tokens}`;
  }

  #lockKey(key: string): string {
    return `${this.#prefix}lock:${key}`;
  }

  get #releasedChannel(): string {
    return `${this.#prefix}lock-released`;
  }

  #askChannel(node: string): string {
    return `${this.#prefix}lock-ask:${node}`;
  }
}

/** Resolves after `ms`, on a poke, or on abort, whichever first; leaves no timer behind. */
function pause(waiter: Waiter, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      waiter.wake = undefined;
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    waiter.wake = done;
  });
}
