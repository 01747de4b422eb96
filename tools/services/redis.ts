/** A redis-server child on 127.0.0.1, ready when it says it accepts connections. */
import { type Managed, startManaged } from "./process.ts";
import { freePort } from "./ports.ts";
import type { Scope } from "./scope.ts";

export interface RedisOptions {
  /** The redis-server binary (see binaries.ts). */
  path: string;
  /** Its working folder (the append-only file when `persist`). */
  dir: string;
  port?: number;
  /** Keep the data across restarts (append-only file in `dir`); tests do not need it. */
  persist?: boolean;
  log?: string;
}

export interface RunningRedis extends Managed {
  port: number;
  url: string;
}

export async function startRedisServer(scope: Scope, options: RedisOptions): Promise<RunningRedis> {
  const port = options.port ?? freePort();
  const process = await startManaged(scope, "redis-server", options.path, {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      options.persist ? "yes" : "no",
      "--dir",
      options.dir,
    ],
    ...(options.log ? { log: options.log } : {}),
  });
  await process.waitFor(/Ready to accept connections/, "ready to accept connections");
  return { ...process, port, url: `redis://127.0.0.1:${port}` };
}
