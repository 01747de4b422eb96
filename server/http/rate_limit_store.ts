import { KeyedRateLimiter, type RateLimit } from "./rate_limit.ts";

/**
 * Token buckets by key that several nodes can share (issue #9: rate limits are per node
 * otherwise, so N nodes let N times the limit through). A bucket starts full and refills
 * continuously, `events` tokens per `perMs`, as `TokenBucket`. One bucket per key and limit:
 * callers name the purpose in the key (`session:<ip>`, `command:<ip>`).
 */
export interface RateLimitStore {
  /** Takes one token; false (nothing taken) when the bucket is empty. Rejects with a
   * RangeError for a limit without events > 0 and perMs > 0. */
  take(key: string, limit: RateLimit): Promise<boolean>;
  /** Releases what the store opened (nothing for the memory store). */
  close(): Promise<void>;
}

/** This node's buckets, as the routes keep them today (`KeyedRateLimiter`, pruned when full). */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #now: () => number;
  readonly #pruneAbove: number;
  readonly #limiters = new Map<string, KeyedRateLimiter>();

  constructor(now: () => number = Date.now, pruneAbove = 1024) {
    this.#now = now;
    this.#pruneAbove = pruneAbove;
  }

  take(key: string, limit: RateLimit): Promise<boolean> {
    try {
      const id = `${limit.events}/${limit.perMs}`;
      let limiter = this.#limiters.get(id);
      if (limiter === undefined) {
        checkLimit(limit);
        limiter = new KeyedRateLimiter(limit, this.#now, this.#pruneAbove);
        this.#limiters.set(id, limiter);
      }
      return Promise.resolve(limiter.take(key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The limits `TokenBucket` accepts; a store rejects any other before it keeps anything. */
export function checkLimit(limit: RateLimit): void {
  if (!(limit.events > 0) || !(limit.perMs > 0)) {
    throw new RangeError("rate limit needs events > 0 and perMs > 0");
  }
}
