/**
 * s3rver (npm, S3-compatible, for local use and tests only) as its own process, so a test can
 * kill a node without killing the bucket. Its credentials are S3RVER / S3RVER.
 */
import { type Managed, startManaged } from "./process.ts";
import { freePort } from "./ports.ts";
import type { Scope } from "./scope.ts";

export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface RunningS3rver extends Managed {
  port: number;
  /** The endpoint, `http://127.0.0.1:<port>`. */
  url: string;
}

export async function startS3rverProcess(
  scope: Scope,
  options: { dir: string; port?: number; log?: string },
): Promise<RunningS3rver> {
  const port = options.port ?? freePort();
  const main = new URL("./s3rver_main.ts", import.meta.url).pathname;
  const process = await startManaged(scope, "s3rver", Deno.execPath(), {
    args: ["run", "-A", main, options.dir, String(port)],
    env: { NO_COLOR: "1" },
    ...(options.log ? { log: options.log } : {}),
  });
  await process.waitFor(/listening on/, "listening");
  return { ...process, port, url: `http://127.0.0.1:${port}` };
}
