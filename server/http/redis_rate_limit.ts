import type { RateLimit } from "./rate_limit.ts";
import { checkLimit, type RateLimitStore } from "./rate_limit_store.ts";
import { LuaScript, type RedisCommander } from "../state/redis_script.ts";
import { type RedisConnection, redisConnection } from "../state/redis_connection.ts";
import { DEFAULT_REDIS_PREFIX } from "../state/redis_store.ts";

/**
 * KEYS: the bucket. ARGV: events, perMs, now in ms ("" = the Redis server's clock).
 * The TokenBucket arithmetic in one script, so concurrent takes from every node are atomic.
 * The bucket is a hash (t tokens, at ms) expiring when it would be full again: a full bucket
 * holds no information, so idle clients cost Redis nothing. A clock behind `at` (another
 * node's skew) refills nothing rather than going back.
 */
const TAKE = new LuaScript(`
local cap = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local b = redis.call("HMGET", KEYS[1], "t", "at")
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if not tokens or not at then
  tokens = cap
  at = now
end
if now > at then
  tokens = math.min(cap, tokens + (now - at) * cap / per)
  at = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
local ttl = math.ceil((cap - tokens) * per / cap)
if ttl < 1 then
  redis.call("DEL", KEYS[1])
else
  redis.call("HSET", KEYS[1], "t", tostring(tokens), "at", tostring(at))
  redis.call("PEXPIRE", KEYS[1], ttl)
end
return taken
`);

export interface RedisRateLimitOptions {
  /** Key prefix, as the state store's (default "h5:"); buckets are `<prefix>rate:...`. */
  prefix?: string;
  /** The clock in ms; by default the Redis server's, one clock for every node. Tests inject
   * theirs to make time pass without waiting. */
  now?: () => number;
}

/** Buckets shared by every node on one Redis. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #connection: RedisConnection;
  readonly #client: RedisCommander;
  readonly #prefix: string;
  readonly #now: (() => number) | undefined;

  /** A connected client stays the caller's; a URL gets a client that close() closes. */
  constructor(clientOrUrl: RedisCommander | string, options: RedisRateLimitOptions = {}) {
    this.#connection = redisConnection(clientOrUrl, "redis rate limits");
    this.#client = this.#connection.client;
    this.#prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#now = options.now;
  }

  /** The bucket's key: one per key and limit, as the memory store keeps them. */
  keyOf(key: string, limit: RateLimit): string {
    return `${this.#prefix}rate:${limit.events}/${limit.perMs}:${key}`;
  }

  async take(key: string, limit: RateLimit): Promise<boolean> {
    checkLimit(limit);
    await this.#connection.ready;
    const now = this.#now === undefined ? "" : String(this.#now());
    const taken = await TAKE.run(this.#client, [this.keyOf(key, limit)], [
      String(limit.events),
      String(limit.perMs),
      now,
    ]);
    return Number(taken) === 1;
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}
