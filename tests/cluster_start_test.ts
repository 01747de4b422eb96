/**
 * A clustered node whose engines cannot be reached stops at start with one line naming the
 * variable and a non-zero code (no stack trace), like a bad configuration or a taken port
 * (start_test.ts). On the base (c0e8c30) such a node ignored H5_REDIS_URL and H5_S3_BUCKET
 * and started embedded.
 */
import assert from "node:assert/strict";
import { startManaged } from "../tools/services/process.ts";
import { taskArgs } from "./support/child.ts";
import { within } from "./support/deadline.ts";
import { type Scope, scoped } from "./support/scope.ts";
import { freePort } from "./support/server.ts";
import { findRedis, startRedis } from "./support/services.ts";

const REPO = new URL("../", import.meta.url).pathname;
const SECRET = "a-shared-secret-of-32-characters";

async function serve(scope: Scope, env: Record<string, string>) {
  const dataDir = await Deno.makeTempDir({ prefix: "h5-start-" });
  scope.defer("remove the data folder", () => Deno.remove(dataDir, { recursive: true }));
  const server = await startManaged(scope, "deno task serve", Deno.execPath(), {
    args: await taskArgs("serve"),
    cwd: REPO,
    env: { H5_DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: "0", NO_COLOR: "1", ...env },
  });
  const status = await within(server.status, "the serve task to give up");
  return { code: status.code, lines: server.output().trim().split("\n") };
}

Deno.test("cluster start: a Redis that does not answer stops the start in one line", () =>
  scoped(async (scope) => {
    // A free port: nothing listens there.
    const url = `redis://user:hunter2@127.0.0.1:${freePort()}`;
    const { code, lines } = await serve(scope, { H5_REDIS_URL: url, H5_SECRET: SECRET });
    assert.equal(code, 2, lines.join("\n"));
    assert.equal(lines.length, 1, `expected one line, got:\n${lines.join("\n")}`);
    assert.match(lines[0]!, /^Cannot start h5-uploader: H5_REDIS_URL=redis:\/\/user:\*\*\*@127/);
    assert.match(lines[0]!, /cannot be reached \(.*ECONNREFUSED/);
    assert.doesNotMatch(lines[0]!, /hunter2/, "the password is not printed");
  }));

Deno.test("cluster start: an S3 endpoint that does not answer stops the start in one line", () =>
  scoped(async (scope) => {
    const found = await findRedis();
    if ("missing" in found) throw new Error(found.missing);
    const redis = await startRedis(scope, found.redis);
    const { code, lines } = await serve(scope, {
      H5_REDIS_URL: redis.url,
      H5_SECRET: SECRET,
      H5_S3_BUCKET: "h5-uploads",
      H5_S3_ENDPOINT: `http://127.0.0.1:${freePort()}`,
      H5_S3_ACCESS_KEY_ID: "key",
      H5_S3_SECRET_ACCESS_KEY: "secret",
    });
    assert.equal(code, 2, lines.join("\n"));
    assert.equal(lines.length, 1, `expected one line, got:\n${lines.join("\n")}`);
    assert.match(lines[0]!, /^Cannot start h5-uploader: H5_S3_BUCKET=h5-uploads cannot be opened/);
  }));
