import assert from "node:assert/strict";
import { BUDGET_GZIP, bundle, declarations, leftoverImports } from "./build.ts";

Deno.test("build - leftoverImports finds static, re-export and dynamic imports", () => {
  assert.deepEqual(leftoverImports('import{a as b}from"lit";let x=1'), ["lit"]);
  assert.deepEqual(leftoverImports('x();import"./side.js"'), ["./side.js"]);
  assert.deepEqual(leftoverImports('export*from"socket.io-client"'), ["socket.io-client"]);
  assert.deepEqual(leftoverImports('let m=import("engine.io-client")'), ["engine.io-client"]);
  assert.deepEqual(leftoverImports('let s="import x from y";new URL(import.meta.url)'), []);
});

Deno.test("build - the widget bundle is one self-contained file within budget", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { js, map, gzip, inputs } = await bundle(
      new URL("./mod.ts", import.meta.url).pathname,
      `${out}/h5-uploader.js`,
    );
    const text = new TextDecoder().decode(js);
    assert.deepEqual(leftoverImports(text), []);
    assert.ok(gzip <= BUDGET_GZIP, `${gzip} bytes gzip is over ${BUDGET_GZIP}`);
    assert.match(text, /customElements\.define\("h5-uploader"/);
    assert.match(text, /\/\/# sourceMappingURL=h5-uploader\.js\.map\s*$/);
    assert.equal(JSON.parse(new TextDecoder().decode(map)).version, 3);
    const files = Object.keys(inputs);
    // Lit and our own Socket.IO client inside; none of socket.io-client's packages.
    for (const inside of ["lit-html", "reactive-element", "widget/socket_io_client.ts"]) {
      assert.ok(files.some((f) => f.includes(inside)), `${inside} is bundled`);
    }
    for (
      const outside of [
        "/debug/",
        "socket.io-client",
        "engine.io-client",
        "engine.io-parser",
        "socket.io-parser",
        "component-emitter",
      ]
    ) {
      assert.ok(!files.some((f) => f.includes(outside)), `${outside} is left out`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("build - the shipped declarations map the tag and every event globally", async () => {
  const text = await declarations();
  assert.match(text, /"h5-uploader": H5Uploader;/);
  for (const name of ["start", "progress", "complete", "error"]) {
    assert.match(text, new RegExp(`"h5-upload-${name}": H5Upload\\w+Event;`));
  }
  assert.match(text, /"h5-session-complete": H5SessionCompleteEvent;/);
});
