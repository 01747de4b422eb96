/** A Lua script run by its SHA1 (EVALSHA), sent whole once when the server lacks it. */
import { createHash } from "node:crypto";

/** What the stores need of a `redis` client; any connected `createClient()` fits. */
export interface RedisCommander {
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
}

export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash("sha1").update(source).digest("hex");
  }

  /** A script runs atomically: no other command runs on the server while it does. */
  async run(client: RedisCommander, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.sendCommand(["EVALSHA", this.#sha, ...tail]);
    } catch (error) {
      // A restarted or flushed server forgets its scripts; EVAL also caches it again.
      if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
      return await client.sendCommand(["EVAL", this.#source, ...tail]);
    }
  }
}
