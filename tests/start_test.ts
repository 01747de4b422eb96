/**
 * A start that cannot listen (the port is taken) stops with one line naming the variable,
 * like a bad configuration does, not with a stack trace.
 */
import assert from "node:assert/strict";
import { taskArgs } from "./support/child.ts";
import { within } from "./support/deadline.ts";
import { scoped } from "./support/scope.ts";

const REPO = new URL("../", import.meta.url).pathname;

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
