export interface RateLimit {
  /** Bucket capacity: a burst of this many passes at once. */
  events: number;
  /** Time to refill a whole bucket. */
  perMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { events: 30, perMs: 1000 };

/** A token bucket refilled lazily from the injected clock, so it owns no timer. */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(limit: RateLimit, now: () => number) {
    if (!(limit.events > 0) || !(limit.perMs > 0)) {
      throw new RangeError("rate limit needs events > 0 and perMs > 0");
    }
    this.#capacity = limit.events;
    this.#perMs = limit.perMs;
    this.#now = now;
    this.#tokens = limit.events;
    this.#at = now();
  }

  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket is back to capacity, i.e. it holds no information. */
  get full(): boolean {
    this.#refill();
    return this.#tokens >= this.#capacity;
  }

  #refill(): void {
    const now = this.#now();
    // A clock stepped back must not refill twice the same span when it comes forward again.
    if (now <= this.#at) return;
    const elapsed = now - this.#at;
    this.#at = now;
    this.#tokens = Math.min(
      this.#capacity,
      this.#tokens + (elapsed * this.#capacity) / this.#perMs,
    );
  }
}

/** One bucket per key (a client address), pruning buckets that refilled to bound memory. */
export class KeyedRateLimiter {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #pruneAbove: number;

  constructor(limit: RateLimit, now: () => number, pruneAbove = 1024) {
    this.#limit = limit;
    this.#now = now;
    this.#pruneAbove = pruneAbove;
  }

  take(key: string): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#pruneAbove) this.#prune();
      bucket = new TokenBucket(this.#limit, this.#now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }

  get size(): number {
    return this.#buckets.size;
  }

  #prune(): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.full) this.#buckets.delete(key);
    }
  }
}
