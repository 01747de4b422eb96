import assert from "node:assert/strict";
import { Hono } from "hono";
import { widgetRoutes } from "./widget.ts";

async function fixture(files: Record<string, string>) {
  const root = await Deno.makeTempDir({ prefix: "widget-route-" });
  await Deno.mkdir(`${root}/dist`);
  await Deno.mkdir(`${root}/demo/img`, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${root}/${name}`, text);
  }
  const app = new Hono();
  widgetRoutes({
    distDir: `${root}/dist/`,
    demoDir: new URL(`file://${root}/demo`),
    allowedOrigins: ["https://shop.example"],
  })(app);
  return { app, root, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

const BUILT = {
  "dist/h5-uploader.js": "export class H5Uploader{}\n//# sourceMappingURL=h5-uploader.js.map\n",
  "dist/h5-uploader.js.map": '{"version":3}',
  "dist/h5-uploader.d.ts": "export declare class H5Uploader {}",
  "demo/index.html": "<!doctype html><title>demo</title>",
  "demo/img/logo.svg": "<svg></svg>",
};

Deno.test("widget route - serves the bundle with type, cache, ETag, nosniff and types link", async () => {
  await using f = await fixture(BUILT);
  const res = await f.app.request("/h5-uploader.js");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "text/javascript; charset=utf-8");
  assert.equal(
    res.headers.get("Cache-Control"),
    "public, max-age=300, stale-while-revalidate=86400",
  );
  assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
  assert.equal(res.headers.get("X-TypeScript-Types"), "/h5-uploader.d.ts");
  assert.match(res.headers.get("ETag") ?? "", /^"[\w+/]{20,}"$/);
  assert.equal(await res.text(), BUILT["dist/h5-uploader.js"]);
});

Deno.test("widget route - answers 304 to a matching If-None-Match", async () => {
  await using f = await fixture(BUILT);
  const etag = (await f.app.request("/h5-uploader.js")).headers.get("ETag")!;
  const res = await f.app.request("/h5-uploader.js", {
    headers: { "If-None-Match": `W/"other", ${etag}` },
  });
  assert.equal(res.status, 304);
  assert.equal(await res.text(), "");
});

Deno.test("widget route - a rebuilt file gets a new ETag without a restart", async () => {
  await using f = await fixture(BUILT);
  const before = (await f.app.request("/h5-uploader.js")).headers.get("ETag");
  await Deno.writeTextFile(`${f.root}/dist/h5-uploader.js`, "export const v = 2;\n");
  const res = await f.app.request("/h5-uploader.js");
  assert.notEqual(res.headers.get("ETag"), before);
  assert.equal(await res.text(), "export const v = 2;\n");
});

Deno.test("widget route - CORS echoes allowed origins only", async () => {
  await using f = await fixture(BUILT);
  const allowed = await f.app.request("/h5-uploader.js", {
    headers: { Origin: "https://shop.example" },
  });
  assert.equal(allowed.headers.get("Access-Control-Allow-Origin"), "https://shop.example");
  assert.equal(allowed.headers.get("Vary"), "Origin");
  const self = await f.app.request("http://uploads.local/h5-uploader.js", {
    headers: { Origin: "http://uploads.local" },
  });
  assert.equal(self.headers.get("Access-Control-Allow-Origin"), "http://uploads.local");
  const other = await f.app.request("/h5-uploader.js", {
    headers: { Origin: "https://evil.example" },
  });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get("Access-Control-Allow-Origin"), null);
  await other.body?.cancel();
  await allowed.body?.cancel();
  await self.body?.cancel();
});

Deno.test("widget route - `*` in the allow-list answers any origin with *", async () => {
  await using f = await fixture(BUILT);
  const app = new Hono();
  widgetRoutes({ distDir: `${f.root}/dist`, demoDir: `${f.root}/demo`, allowedOrigins: ["*"] })(
    app,
  );
  const res = await app.request("/h5-uploader.js", { headers: { Origin: "https://a.example" } });
  assert.equal(res.headers.get("Access-Control-Allow-Origin"), "*");
  await res.body?.cancel();
});

Deno.test("widget route - source map and declarations", async () => {
  await using f = await fixture(BUILT);
  const map = await f.app.request("/h5-uploader.js.map");
  assert.equal(map.headers.get("Content-Type"), "application/json; charset=utf-8");
  assert.equal(await map.text(), '{"version":3}');
  const types = await f.app.request("/h5-uploader.d.ts");
  assert.equal(types.headers.get("Content-Type"), "application/typescript; charset=utf-8");
  assert.equal(await types.text(), BUILT["dist/h5-uploader.d.ts"]);
});

Deno.test("widget route - HEAD has the headers and no body", async () => {
  await using f = await fixture(BUILT);
  const res = await f.app.request("/h5-uploader.js", { method: "HEAD" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Length"), String(BUILT["dist/h5-uploader.js"].length));
  assert.equal(await res.text(), "");
});

Deno.test("widget route - not built: 503 INTERNAL_ERROR telling how to build, logged", async () => {
  await using f = await fixture({ "demo/index.html": "<!doctype html>" });
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    for (const path of ["/h5-uploader.js", "/h5-uploader.js.map", "/h5-uploader.d.ts"]) {
      const res = await f.app.request(path);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("Cache-Control"), "no-store");
      assert.deepEqual(await res.json(), {
        error: { code: "INTERNAL_ERROR", message: "widget not built: run deno task build" },
      });
    }
  } finally {
    console.error = original;
  }
  // A 5xx is our own fault: every one is logged.
  assert.equal(logged.length, 3);
});

Deno.test("widget route - / is the demo page, /demo/* its assets", async () => {
  await using f = await fixture(BUILT);
  const page = await f.app.request("/");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("Content-Type"), "text/html; charset=utf-8");
  assert.equal(await page.text(), BUILT["demo/index.html"]);
  const svg = await f.app.request("/demo/img/logo.svg");
  assert.equal(svg.headers.get("Content-Type"), "image/svg+xml");
  assert.equal(await svg.text(), "<svg></svg>");
});

Deno.test("widget route - demo paths cannot leave the demo folder", async () => {
  await using f = await fixture(BUILT);
  await Deno.writeTextFile(`${f.root}/secret.txt`, "secret");
  for (const path of ["/demo/../secret.txt", "/demo/%2e%2e/secret.txt", "/demo/.hidden.txt"]) {
    const res = await f.app.request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
  const missing = await f.app.request("/demo/nope.css");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});
