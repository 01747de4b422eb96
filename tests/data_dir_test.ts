/**
 * Item 14: `deno task serve` works with any H5_DATA_DIR while its write permission stays
 * narrowed to that folder, and a folder it cannot use stops it with one line naming the
 * variable. Runs the task's own command line (its last step; the first builds the widget).
 */
import assert from "node:assert/strict";
import { fileBytes } from "../server/testing/harness.ts";
import { spawnServer, taskArgs } from "./support/child.ts";
import { within } from "./support/deadline.ts";
import { createSession, createUpload, listTree, patch } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { freePort } from "./support/server.ts";

const REPO = new URL("../", import.meta.url).pathname;

Deno.test("data dir: the serve task runs over a folder outside ./data and uploads land there", () =>
  scoped(async (scope) => {
    const root = await Deno.makeTempDir({ prefix: "h5-datadir-" });
    scope.defer("remove the data folder", () => Deno.remove(root, { recursive: true }));
    const dataDir = `${root}/not/yet/there`;
    const args = await taskArgs("serve");
    const server = await spawnServer(scope, dataDir, freePort(), {}, {
      args,
      reapSignal: "SIGTERM",
    });
    const session = await createSession(server.url);
    const bytes = fileBytes(1000);
    const upload = await createUpload(server.url, session, { size: bytes.length });
    const answer = await patch(upload.location, session.token, 0, bytes);
    assert.equal(answer.status, 204, server.output());
    const files = (await listTree(`${dataDir}/uploads`)).filter((f) => f.endsWith(".jpg"));
    assert.equal(files.length, 1, `no finished upload under ${dataDir}: ${files}`);
    const status = await server.stop("SIGTERM");
    assert.equal(status.code, 0, server.output());
  }));

Deno.test("data dir: a folder that cannot be made or written stops the start in one line", () =>
  scoped(async (scope) => {
    const root = await Deno.makeTempDir({ prefix: "h5-datadir-" });
    scope.defer("remove the temp folder", () => Deno.remove(root, { recursive: true }));
    await Deno.writeTextFile(`${root}/a-file`, "not a folder");
    const args = await taskArgs("serve");
    for (const dataDir of ["/proc/h5-cannot-exist", `${root}/a-file`, `${root}/a-file/below`]) {
      const out = await within(
        new Deno.Command(Deno.execPath(), {
          args,
          cwd: REPO,
          env: { H5_DATA_DIR: dataDir, PORT: String(freePort()), HOST: "127.0.0.1", NO_COLOR: "1" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output(),
        `the serve task to give up on ${dataDir}`,
      );
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.notEqual(out.code, 0, `${dataDir}: ${text}`);
      const lines = text.trim().split("\n");
      assert.equal(lines.length, 1, `${dataDir}: expected one line, got:\n${text}`);
      assert.match(lines[0]!, /H5_DATA_DIR/, text);
      assert.doesNotMatch(text, /\bat .*:\d+:\d+/, "no stack trace");
    }
  }));
