/**
 * A page on another origin embeds the widget with the demo's snippet (one script tag, one
 * element) and uploads to the server that served the script.
 */
import assert from "node:assert/strict";
import {
  browserTest,
  diskFile,
  openPage,
  startUploadServer,
  storedSha256,
  tempDir,
  waitForEvents,
} from "./support.ts";
import type { Scope } from "../support/scope.ts";

/** A third party's site: one page, on its own port (so its own origin). */
function thirdPartySite(scope: Scope, page: () => string): string {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(page(), { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  scope.defer("close the third-party site", () => server.shutdown());
  return `http://127.0.0.1:${server.addr.port}`;
}

browserTest("another origin embeds the widget with one script tag and uploads", async (
  { browser, scope },
) => {
  let snippet = "";
  const page = () => `<!doctype html>\n<title>Partner shop</title>\n${snippet}\n`;
  const shop = thirdPartySite(scope, page);
  const stranger = thirdPartySite(scope, page);
  const server = await startUploadServer(scope, { H5_ALLOWED_ORIGINS: shop });
  assert.notEqual(new URL(shop).origin, new URL(server.url).origin);

  // The snippet the demo page offers to copy, as it shows it.
  const demo = await openPage(browser, scope);
  await demo.page.goto(`${server.url}/`);
  snippet = await demo.page.locator("#snippet").innerText();
  assert.equal(snippet.match(/<script /g)?.length, 1, snippet);
  assert.ok(snippet.includes(`src="${server.url}/h5-uploader.js"`), snippet);
  assert.equal(snippet.match(/<h5-uploader[ >]/g)?.length, 1, snippet);

  const dir = await tempDir(scope);
  const file = await diskFile(dir, "from-the-shop.jpg", 1_500_000);
  const { page: shopPage, errors } = await openPage(browser, scope);
  const apiCalls: string[] = [];
  shopPage.on("request", (r) => {
    if (r.url().includes("/api/")) apiCalls.push(new URL(r.url()).origin);
  });
  await shopPage.goto(shop);
  const element = shopPage.locator("h5-uploader");
  await element.locator("input[type=file]").setInputFiles(file.path);
  await element.getByRole("button", { name: "Start upload" }).click();
  const [done] = await waitForEvents(shopPage, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  await waitForEvents(shopPage, "h5-session-complete");
  // Uploaded to the server that served the script, with live progress from its socket.
  assert.ok(apiCalls.length > 0);
  assert.deepEqual([...new Set(apiCalls)], [new URL(server.url).origin]);
  await element.locator("[part~=connection][data-state=connected]").waitFor();
  assert.deepEqual(errors, []);

  // A site that is not on the allow-list cannot use the widget: its script is refused.
  const { page: strangerPage } = await openPage(browser, scope);
  const refused = strangerPage.waitForEvent("console", (m) => /CORS|blocked/i.test(m.text()));
  await strangerPage.goto(stranger);
  await refused;
  assert.equal(await strangerPage.evaluate(() => customElements.get("h5-uploader")), undefined);
});
