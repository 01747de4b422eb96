/**
 * Bad networks in a real Chromium against the real server: the socket blocked (progress
 * by polling), and the network cut in the middle of an upload (automatic retry resumes).
 */
import assert from "node:assert/strict";
import {
  browserTest,
  configure,
  diskFile,
  events,
  fileInput,
  logPatches,
  openPage,
  PatchGate,
  startUploadServer,
  storedSha256,
  tempDir,
  waitForConfirmed,
  waitForEvents,
  watchText,
} from "./support.ts";

const MiB = 2 ** 20;

declare global {
  var __socketAttempts: number | undefined;
}

browserTest("socket blocked: the indicator shows polling and the upload completes", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "no-socket.jpg", 6 * MiB);
  const { page, errors } = await openPage(browser, scope);
  // Every Socket.IO connection is refused, as by a network or proxy that lets no WebSocket
  // through. (page.route does not see WebSockets, and a socket closed by routeWebSocket
  // before it opens leaves socket.io waiting 20 s for its connect timeout: the page's
  // WebSocket is pointed at a closed port instead, a real connection refused.)
  await page.addInitScript(() => {
    const Native = WebSocket;
    globalThis.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        const blocked = /\/socket\.io\//.test(String(url));
        super(blocked ? "ws://127.0.0.1:9/socket.io/refused" : url, protocols);
        if (blocked) globalThis.__socketAttempts = (globalThis.__socketAttempts ?? 0) + 1;
      }
    };
  });
  const polls: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "GET" && /\/api\/sessions\/[^/]+$/.test(r.url())) polls.push(r.url());
  });
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const gate = await PatchGate.install(page, 1);
  const element = page.locator("h5-uploader");
  await fileInput(page).setInputFiles(file.path);
  await element.getByRole("button", { name: "Start upload" }).click();

  // The upload waits (one chunk sent) until the socket gave up and polling took over.
  const indicator = element.locator("[part~=connection]");
  await element.locator("[part~=connection][data-state=polling]").waitFor({ timeout: 30_000 });
  const socketAttempts = await page.evaluate(() => globalThis.__socketAttempts ?? 0);
  assert.ok(
    socketAttempts >= 2,
    `the widget tried the socket and reconnecting (${socketAttempts})`,
  );
  assert.match(await indicator.innerText(), /Checking every 2 s/);
  // Progress shows while polling: two more chunks, then the row and the totals move.
  gate.allow(2);
  await gate.waitHeld("the 4th PATCH");
  await waitForConfirmed(page, 3 * MiB);
  const shown = Number(
    await element.locator("[part~=file] [part~=progress]").getAttribute("aria-valuenow"),
  );
  assert.ok(shown >= 50 && shown < 100, `the row's progress while polling: ${shown}`);
  assert.match(await element.locator("[part~=summary]").innerText(), /0 of 1 file uploaded · \d+%/);
  gate.open();

  const [done] = await waitForEvents(page, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  assert.ok(polls.length > 0, "the session was read over HTTP (GET /api/sessions/:id)");
  const progress = await events(page, "h5-upload-progress");
  assert.ok(progress.length > 0, "progress events while polling");
  await element.locator("[part~=file][data-status=completed]").waitFor();
  assert.equal(
    await element.locator("[part~=total-progress]").getAttribute("aria-valuenow"),
    "100",
  );
  assert.match(await element.locator("[part~=summary]").innerText(), /1 of 1 file uploaded · 100%/);
  assert.equal(await indicator.getAttribute("data-state"), "polling");
  assert.deepEqual(errors, []);
});

browserTest("network cut mid-upload: automatic retry resumes, the stored file is whole", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "flaky.jpg", 6 * MiB);
  const { page, errors } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const patches = logPatches(page);
  // The 3rd PATCH dies on the wire (as when the Wi-Fi drops), once.
  let seen = 0;
  await page.route("**/api/uploads/**", (route) => {
    if (route.request().method() !== "PATCH") return route.fallback();
    return ++seen === 3 ? route.abort("internetdisconnected") : route.continue();
  });
  const element = page.locator("h5-uploader");
  await fileInput(page).setInputFiles(file.path);
  const retryShown = await watchText(page, "Retry 1/5");
  await element.getByRole("button", { name: "Start upload" }).click();

  // The row says "Retry 1/5" while it waits to try again.
  await retryShown.seen();
  const [failure] = await waitForEvents(page, "h5-upload-error");
  assert.equal(failure!.detail.error.code, "NETWORK_ERROR");
  assert.equal(failure!.detail.willRetry, true);

  const [done] = await waitForEvents(page, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  const offsets = patches.patches.map((p) => p.offset);
  // 0, 1 MiB, 2 MiB (cut), then the retry continues at 2 MiB: nothing sent twice but the cut.
  assert.deepEqual(offsets.slice(0, 4), [0, MiB, 2 * MiB, 2 * MiB]);
  assert.equal(offsets.length, 7);
  assert.equal((await events(page, "h5-upload-error")).length, 1);
  assert.deepEqual(errors, []);
});

browserTest("offline for a while mid-upload: retries until back online, then completes", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "tunnel.jpg", 4 * MiB);
  const { context, page, errors } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const patches = logPatches(page);
  const gate = await PatchGate.install(page, 2);
  const element = page.locator("h5-uploader");
  await fileInput(page).setInputFiles(file.path);
  await element.getByRole("button", { name: "Start upload" }).click();
  await gate.waitHeld("the 3rd PATCH");

  await context.setOffline(true);
  const retryShown = await watchText(page, "Retry 1/5");
  gate.open(); // the held PATCH now meets a dead network
  await retryShown.seen();
  const [failure] = await events(page, "h5-upload-error");
  assert.equal(failure!.detail.error.code, "NETWORK_ERROR");
  assert.equal(failure!.detail.willRetry, true);
  const mark = patches.patches.length;
  await context.setOffline(false);

  const [done] = await waitForEvents(page, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  const after = patches.patches.slice(mark);
  assert.ok(after.length > 0);
  assert.ok(
    after[0]!.offset >= 2 * MiB,
    `back online, the upload continued at the server's offset (${after[0]!.offset}), not at 0`,
  );
  assert.deepEqual(errors, []);
});
