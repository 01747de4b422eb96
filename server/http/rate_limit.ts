/** Token buckets per key (client address), for session creation and socket events. */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  #capacity: number;
  #perMs: number;
  #now: () => number;

  constructor(options: { capacity: number; perMs: number; now?: () => number }) {
    this.#capacity = options.capacity;
    this.#perMs = options.perMs;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token; false when the key is over its rate. */
  take(key: string): boolean {
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    const refill = ((now - bucket.at) / this.#perMs) * this.#capacity;
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + refill);
    bucket.at = now;
    if (this.#buckets.size > 10_000) this.#prune(now);
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #prune(now: number): void {
    for (const [key, b] of this.#buckets) if (now - b.at > this.#perMs) this.#buckets.delete(key);
  }
}
