/**
 * The Lua scripts of RedisStateStore. Each write checks the version and updates the record
 * and every index it touches in one script, which Redis runs atomically, so no reader or
 * other node ever sees a record and its indexes disagree, and of two writers conditional on
 * one version exactly one wins. Records are hashes: `d` the JSON (without its version),
 * `v` the version, and for uploads `s` the session id (absent for anonymous uploads) so a
 * write can move the upload out of its previous session's index.
 */
import { LuaScript } from "./redis_script.ts";

// The version check shared by every write; ARGV[1] is ifVersion, "" when unconditional.
const CHECK = `
local current = tonumber(redis.call("HGET", KEYS[1], "v")) or 0
if ARGV[1] ~= "" and tonumber(ARGV[1]) ~= current then return 0 end
`;

/** KEYS: record, uploads:expiring, new session index (ignored without a session).
 * ARGV: ifVersion, data, id, has session "1"/"0", session id, createdAt, expirable "1"/"0",
 * expiresAt, session index prefix. */
export const PUT_UPLOAD = new LuaScript(`${CHECK}
local old = redis.call("HGET", KEYS[1], "s")
if old and (ARGV[4] ~= "1" or old ~= ARGV[5]) then
  redis.call("ZREM", ARGV[9] .. old, ARGV[3])
end
if ARGV[4] == "1" then
  redis.call("ZADD", KEYS[3], ARGV[6], ARGV[3])
  redis.call("HSET", KEYS[1], "s", ARGV[5])
else
  redis.call("HDEL", KEYS[1], "s")
end
if ARGV[7] == "1" then
  redis.call("ZADD", KEYS[2], ARGV[8], ARGV[3])
else
  redis.call("ZREM", KEYS[2], ARGV[3])
end
redis.call("HSET", KEYS[1], "d", ARGV[2], "v", current + 1)
return 1
`);

/** KEYS: record, uploads:expiring. ARGV: ifVersion, id, session index prefix. */
export const DELETE_UPLOAD = new LuaScript(`${CHECK}
local old = redis.call("HGET", KEYS[1], "s")
if old then redis.call("ZREM", ARGV[3] .. old, ARGV[2]) end
redis.call("ZREM", KEYS[2], ARGV[2])
redis.call("DEL", KEYS[1])
return 1
`);

/** KEYS: record, sessions:active, sessions:ended. ARGV: ifVersion, data, id,
 * active "1"/"0", expiresAt. */
export const PUT_SESSION = new LuaScript(`${CHECK}
if ARGV[4] == "1" then
  redis.call("ZADD", KEYS[2], ARGV[5], ARGV[3])
  redis.call("ZREM", KEYS[3], ARGV[3])
else
  redis.call("ZADD", KEYS[3], ARGV[5], ARGV[3])
  redis.call("ZREM", KEYS[2], ARGV[3])
end
redis.call("HSET", KEYS[1], "d", ARGV[2], "v", current + 1)
return 1
`);

/** KEYS: record, sessions:active, sessions:ended. ARGV: ifVersion, id. */
export const DELETE_SESSION = new LuaScript(`${CHECK}
redis.call("ZREM", KEYS[2], ARGV[2])
redis.call("ZREM", KEYS[3], ARGV[2])
redis.call("DEL", KEYS[1])
return 1
`);

/** KEYS: an index. ARGV: min score, max score, record key prefix. Returns data, version,
 * data, version... in index order (score, then id: the SQLite store's order). One script so
 * a listing is one consistent snapshot. */
export const LIST = new LuaScript(`
local out = {}
for _, id in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], ARGV[1], ARGV[2])) do
  local r = redis.call("HMGET", ARGV[3] .. id, "d", "v")
  if r[1] then
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
  end
end
return out
`);
