import {
  MIN_PROGRESS_CHANGE,
  SESSION_TIMEOUT_MS,
  THROTTLE_INTERVAL_MS,
} from "../../protocol/events.ts";
import type { RedisClient } from "../lock/redis_locker.ts";
import { TERMINAL_FILE_STATUSES } from "../realtime/throttle.ts";
import type { GateDecision, ThrottleGate, ThrottleView } from "../realtime/throttle_gate.ts";

/**
 * realtime/throttle.ts's rule in one atomic step on Redis's clock (nodes' clocks may differ):
 * send when nothing was sent, the status changed, 100 % is reached, or 500 ms AND 1 % passed
 * since the last update any node sent; a send records itself. A refusal says how long until
 * the window ends (-1: the change is under 1 %, or the asker's state was committed before what
 * was sent, so it has not heard the newest delta yet: nothing to send as it is).
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local p = tonumber(ARGV[1])
local interval = tonumber(ARGV[3])
local minChange = tonumber(ARGV[4])
local last = redis.call('HMGET', KEYS[1], 'at', 'p', 's', 'c')
local send = false
local lp = tonumber(last[2])
if last[4] and ARGV[8] ~= '' and tonumber(ARGV[8]) < tonumber(last[4]) then return {0, -1} end
if not last[1] or last[3] ~= ARGV[2] or (p >= 100 and lp < 100) then
  send = true
elseif now - tonumber(last[1]) >= interval and math.abs(p - lp) >= minChange then
  send = true
end
if send then
  if ARGV[6] == '1' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'at', now, 'p', ARGV[1], 's', ARGV[2], 'n', ARGV[7])
    if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'c', ARGV[8]) end
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
  end
  return {1, 0}
end
if math.abs(p - lp) < minChange then return {0, -1} end
return {0, math.max(0, tonumber(last[1]) + interval - now)}
`;

const RECORD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[4] == '1' then return redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'at', now, 'p', ARGV[1], 's', ARGV[2], 'n', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'c', ARGV[6]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[3])
`;

export interface RedisThrottleGateOptions {
  /** Connected; owned by the caller. */
  client: RedisClient;
  /** This node's id, stored with what it sent (for debugging a cluster). */
  node: string;
  intervalMs?: number;
  /** A file's record outlives a session that expired without a final event by no more. */
  idleMs?: number;
  /** Default "h5:". */
  prefix?: string;
}

/**
 * One `h5:throttle:<sessionId>:<fileId>` hash per file being uploaded (when and what was last
 * sent): every node asks it before sending a progress update, so a watcher hears a file at the
 * spec's pace however many nodes its PATCHes go through. Per file, as the spec keys it
 * (`${sessionId}_${fileId}`), so a cluster sends what one node would.
 */
export class RedisThrottleGate implements ThrottleGate {
  readonly #client: RedisClient;
  readonly #node: string;
  readonly #intervalMs: number;
  readonly #idleMs: number;
  readonly #prefix: string;
  #failing = false;

  constructor(options: RedisThrottleGateOptions) {
    this.#client = options.client;
    this.#node = options.node;
    this.#intervalMs = options.intervalMs ?? THROTTLE_INTERVAL_MS;
    this.#idleMs = options.idleMs ?? SESSION_TIMEOUT_MS;
    this.#prefix = options.prefix ?? "h5:";
  }

  async admit(sessionId: string, file: ThrottleView): Promise<GateDecision> {
    try {
      const reply = await this.#client.eval(ADMIT, {
        keys: [this.#key(sessionId, file.id)],
        arguments: [
          String(file.progress),
          file.status,
          String(this.#intervalMs),
          String(MIN_PROGRESS_CHANGE),
          String(this.#idleMs),
          TERMINAL_FILE_STATUSES.has(file.status) ? "1" : "0",
          this.#node,
          file.at === undefined ? "" : String(file.at),
        ],
      }) as [number, number];
      this.#failing = false;
      if (reply[0] === 1) return { send: true };
      return { send: false, waitMs: reply[1] < 0 ? null : Number(reply[1]) };
    } catch (error) {
      // Redis away: progress is best effort and the next checkpoint asks again; a watcher
      // misses some updates rather than hearing every node at once.
      this.#report(error);
      return { send: false, waitMs: null };
    }
  }

  record(sessionId: string, file: ThrottleView): void {
    this.#client.eval(RECORD, {
      keys: [this.#key(sessionId, file.id)],
      arguments: [
        String(file.progress),
        file.status,
        String(this.#idleMs),
        TERMINAL_FILE_STATUSES.has(file.status) ? "1" : "0",
        this.#node,
        file.at === undefined ? "" : String(file.at),
      ],
    }).then(() => {
      this.#failing = false;
    }, (error) => this.#report(error));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #key(sessionId: string, fileId: string): string {
    return `${this.#prefix}throttle:${sessionId}:${fileId}`;
  }

  #report(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    console.error("The shared progress throttle (redis) failed:", error);
  }
}
