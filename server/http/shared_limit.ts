import type { RateLimit } from "./rate_limit.ts";
import type { RateLimitStore } from "./rate_limit_store.ts";

/** Takes one token for `key` (a client address) from a shared bucket; true: let it through. */
export type RateGate = (key: string) => Promise<boolean>;

/**
 * One limit (`prefix:<address>` buckets) in a RateLimitStore shared by every node. A store
 * that fails (Redis down) lets the request through and logs once until it works again: the
 * limit guards against abuse, not correctness, and refusing every session and command while
 * Redis reconnects would take the whole site down for everyone; one line per outage keeps
 * the log readable under load.
 */
export function rateGate(store: RateLimitStore, prefix: string, limit: RateLimit): RateGate {
  let failing = false;
  return async (key) => {
    try {
      const allowed = await store.take(`${prefix}:${key}`, limit);
      failing = false;
      return allowed;
    } catch (error) {
      if (!failing) console.error(`Rate limit "${prefix}" unavailable, allowing requests:`, error);
      failing = true;
      return true;
    }
  };
}
