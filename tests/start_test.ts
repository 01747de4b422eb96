/**
 * A start that cannot listen (the port is taken) stops with one line naming the variable,
 * like a bad configuration does, not with a stack trace.
 */
import assert from "node:assert/strict";
import { startManaged } from "../tools/services/process.ts";
import { taskArgs } from "./support/child.ts";
import { within } from "./support/deadline.ts";
import { type Scope, scoped } from "./support/scope.ts";

const REPO = new URL("../", import.meta.url).pathname;

/**
 * Runs `deno task serve` over a fresh data folder with `env`; its exit code and output. A
 * start that does not stop is reaped by the scope (SIGTERM, passed on by the launcher).
 */
async function serve(
  scope: Scope,
  env: Record<string, string>,
): Promise<{ code: number; text: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "h5-start-" });
  scope.defer("remove the data folder", () => Deno.remove(dataDir, { recursive: true }));
  const server = await startManaged(scope, "deno task serve", Deno.execPath(), {
    args: await taskArgs("serve"),
    cwd: REPO,
    env: { H5_DATA_DIR: dataDir, HOST: "127.0.0.1", NO_COLOR: "1", ...env },
  });
  const status = await within(server.status, "the serve task to give up");
  return { code: status.code, text: server.output() };
}

Deno.test("start: H5_REDIS_URL without H5_SECRET stops the start in one line naming H5_SECRET", () =>
  scoped(async (scope) => {
    // Nothing listens on port 1: the start must stop before it tries Redis at all.
    const { code, text } = await serve(scope, { PORT: "0", H5_REDIS_URL: "redis://127.0.0.1:1" });
    assert.equal(code, 2, text);
    const lines = text.trim().split("\n");
    assert.equal(lines.length, 1, `expected one line, got:\n${text}`);
    assert.match(
      lines[0]!,
      /^Cannot start h5-uploader: Missing H5_SECRET: required when H5_REDIS_URL/,
    );
  }));

Deno.test("start: an S3 bucket without its keys stops the start in one line naming the key", () =>
  scoped(async (scope) => {
    const { code, text } = await serve(scope, { PORT: "0", H5_S3_BUCKET: "h5-uploads" });
    assert.equal(code, 2, text);
    const lines = text.trim().split("\n");
    assert.equal(lines.length, 1, `expected one line, got:\n${text}`);
    assert.match(lines[0]!, /^Cannot start h5-uploader: Missing H5_S3_ACCESS_KEY_ID/);
  }));

Deno.test("start: a port already in use stops the start in one line naming PORT", () =>
  scoped(async (scope) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    scope.defer("free the port", () => taken.close());
    const port = (taken.addr as Deno.NetAddr).port;
    const dataDir = await Deno.makeTempDir({ prefix: "h5-start-" });
    scope.defer("remove the data folder", () => Deno.remove(dataDir, { recursive: true }));
    const out = await within(
      new Deno.Command(Deno.execPath(), {
        args: await taskArgs("serve"),
        cwd: REPO,
        env: { H5_DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output(),
      "the serve task to give up on a taken port",
    );
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, text);
    const lines = text.trim().split("\n");
    assert.equal(lines.length, 1, `expected one line, got:\n${text}`);
    assert.match(lines[0]!, new RegExp(`PORT=${port}.*already in use`));
  }));
