import type { SessionRecord, StateStore, UploadRecord, WriteCondition } from "./store.ts";
import { checkCondition, isExpirable, withoutVersion } from "./record_version.ts";
import type { LuaScript, RedisCommander } from "./redis_script.ts";
import { type RedisConnection, redisConnection } from "./redis_connection.ts";
import {
  DELETE_SESSION,
  DELETE_UPLOAD,
  LIST,
  PUT_SESSION,
  PUT_UPLOAD,
} from "./redis_store_scripts.ts";

export interface RedisStateStoreOptions {
  /** Prepended to every key, so several deployments (or tests) can share one Redis. */
  prefix?: string;
}

export const DEFAULT_REDIS_PREFIX = "h5:";

/**
 * Session and upload state in Redis, shared by every node. Keys, under the prefix:
 * - `session:<id>`, `upload:<id>`: hashes, `d` the record's JSON, `v` its version (and `s`
 *   an upload's session id);
 * - `sessions:active`, `sessions:ended`: sorted sets of session ids by expiresAt, split by
 *   status, for listExpiredSessions and listEndedSessions;
 * - `uploads:expiring`: sorted set, by expiresAt, of the uploads listExpiredUploads may
 *   return (not completed, or a finished partial no final joined);
 * - `session-uploads:<sessionId>`: sorted set of a session's upload ids by createdAt
 *   (ties by id, as SQLite orders them).
 * Every write is one Lua script (redis_store_scripts.ts). The scripts touch the previous
 * session's index by a key they derive, so the keys must live on one Redis server (not
 * spread over a Redis Cluster's slots).
 *
 * Durability is Redis's: a write has survived `kill -9` of the node once it resolves; that
 * it survives a Redis restart depends on Redis's own persistence (appendonly).
 */
export class RedisStateStore implements StateStore {
  readonly #client: RedisCommander;
  readonly #connection: RedisConnection;
  readonly #p: string;

  /** A connected client stays the caller's (close() leaves it open); a URL gets a client
   * of its own, which close() closes. */
  constructor(clientOrUrl: RedisCommander | string, options: RedisStateStoreOptions = {}) {
    this.#p = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#connection = redisConnection(clientOrUrl, "redis state store");
    this.#client = this.#connection.client;
  }

  async putSession(session: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    checkCondition(condition);
    const keys = [this.#key("session:", session.id), this.#activeKey, this.#endedKey];
    return await this.#write(PUT_SESSION, keys, [
      ifVersion(condition),
      JSON.stringify(withoutVersion(session)),
      session.id,
      session.status === "active" ? "1" : "0",
      String(session.expiresAt),
    ]);
  }

  getSession(id: string): Promise<SessionRecord | null> {
    return this.#get<SessionRecord>(this.#key("session:", id));
  }

  listExpiredSessions(now: number): Promise<SessionRecord[]> {
    return this.#list<SessionRecord>(this.#activeKey, "-inf", String(now), "session:");
  }

  listEndedSessions(before: number): Promise<SessionRecord[]> {
    return this.#list<SessionRecord>(this.#endedKey, "-inf", String(before), "session:");
  }

  async deleteSession(id: string, condition?: WriteCondition): Promise<boolean> {
    checkCondition(condition);
    const keys = [this.#key("session:", id), this.#activeKey, this.#endedKey];
    return await this.#write(DELETE_SESSION, keys, [
      ifVersion(condition),
      id,
    ]);
  }

  async putUpload(upload: UploadRecord, condition?: WriteCondition): Promise<boolean> {
    checkCondition(condition);
    const session = upload.sessionId;
    const keys = [
      this.#key("upload:", upload.id),
      this.#expiringKey,
      session === null ? this.#key("session-uploads:", "") : this.#key("session-uploads:", session),
    ];
    return await this.#write(PUT_UPLOAD, keys, [
      ifVersion(condition),
      JSON.stringify(withoutVersion(upload)),
      upload.id,
      session === null ? "0" : "1",
      session ?? "",
      String(upload.createdAt),
      isExpirable(upload) ? "1" : "0",
      String(upload.expiresAt),
      this.#key("session-uploads:", ""),
    ]);
  }

  getUpload(id: string): Promise<UploadRecord | null> {
    return this.#get<UploadRecord>(this.#key("upload:", id));
  }

  listUploads(sessionId: string): Promise<UploadRecord[]> {
    return this.#list<UploadRecord>(
      this.#key("session-uploads:", sessionId),
      "-inf",
      "+inf",
      "upload:",
    );
  }

  listExpiredUploads(now: number): Promise<UploadRecord[]> {
    return this.#list<UploadRecord>(this.#expiringKey, "-inf", String(now), "upload:");
  }

  async deleteUpload(id: string, condition?: WriteCondition): Promise<boolean> {
    checkCondition(condition);
    const keys = [this.#key("upload:", id), this.#expiringKey];
    return await this.#write(DELETE_UPLOAD, keys, [
      ifVersion(condition),
      id,
      this.#key("session-uploads:", ""),
    ]);
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  get #activeKey(): string {
    return `${this.#p}sessions:active`;
  }

  get #endedKey(): string {
    return `${this.#p}sessions:ended`;
  }

  get #expiringKey(): string {
    return `${this.#p}uploads:expiring`;
  }

  #key(kind: string, id: string): string {
    return `${this.#p}${kind}${id}`;
  }

  async #write(script: LuaScript, keys: string[], args: string[]): Promise<boolean> {
    await this.#connection.ready;
    return Number(await script.run(this.#client, keys, args)) === 1;
  }

  async #get<T>(key: string): Promise<T | null> {
    await this.#connection.ready;
    const [data, version] = await this.#client.sendCommand(["HMGET", key, "d", "v"]) as [
      string | null,
      string | null,
    ];
    return data === null ? null : parse<T>(data, version);
  }

  async #list<T>(index: string, min: string, max: string, kind: string): Promise<T[]> {
    await this.#connection.ready;
    const flat = await LIST.run(this.#client, [index], [min, max, this.#key(kind, "")]) as string[];
    const records: T[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) records.push(parse<T>(flat[i]!, flat[i + 1]!));
    return records;
  }
}

function ifVersion(condition?: WriteCondition): string {
  return condition?.ifVersion === undefined ? "" : String(condition.ifVersion);
}

function parse<T>(data: string, version: string | null): T {
  return { ...JSON.parse(data), version: Number(version) } as T;
}
