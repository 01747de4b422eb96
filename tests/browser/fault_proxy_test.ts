/**
 * Issue #8, the first browser test: a phone's network between a real Chromium and the real
 * server, played by a TCP fault proxy. A 32 MiB upload in the default mode (one PATCH per
 * file) is cut every 3 MiB (8 cuts), then held open without forwarding for 30 s; it completes
 * with no click, intact, and the row showed its retries. Also prints (never asserts) the time
 * of the same upload through a clean proxy.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { FaultProxy } from "./fault_proxy.ts";
import {
  browserTest,
  configure,
  diskFile,
  events,
  fileInput,
  openPage,
  startUploadServer,
  storedSha256,
  tempDir,
} from "./support.ts";

const MiB = 2 ** 20;
const SIZE = 32 * MiB;

declare global {
  var __retryingShown: number;
}

/** Counts the times a file row turns `data-status=retrying` (what the user sees). */
async function countRetryingRows(page: Page): Promise<void> {
  await page.locator("h5-uploader").evaluate((el) => {
    const root = el.shadowRoot!;
    let showing = false;
    globalThis.__retryingShown = 0;
    new MutationObserver(() => {
      const now = !!root.querySelector("[part~=file][data-status=retrying]");
      if (now && !showing) globalThis.__retryingShown++;
      showing = now;
    }).observe(root, { subtree: true, childList: true, attributes: true });
  });
}

/** Picks `path` on a fresh page through the proxy; resolves with the ms to completion. */
async function upload(
  page: Page,
  proxy: FaultProxy,
  path: string,
): Promise<{ ms: number; uploadPath: string }> {
  await page.goto(`${proxy.url}/`);
  await configure(page, { "auto-start": "", "stall-timeout": "3" });
  await countRetryingRows(page);
  const started = performance.now();
  await fileInput(page).setInputFiles(path); // auto-start: no click at all
  // Done, or given up (an error without retry): the test says which.
  await page.waitForFunction(
    () =>
      globalThis.__h5Events.some((e) =>
        e.type === "h5-upload-complete" || (e.type === "h5-upload-error" && !e.detail.willRetry)
      ),
    undefined,
    { timeout: 120_000 },
  );
  const ms = performance.now() - started;
  const gaveUp = await events(page, "h5-upload-error");
  assert.ok(gaveUp.every((e) => e.detail.willRetry), `gave up: ${JSON.stringify(gaveUp.at(-1))}`);
  const [done] = await events(page, "h5-upload-complete");
  return { ms, uploadPath: done!.detail.uploadPath };
}

browserTest("fault proxy: 32 MiB cut every 3 MiB and held 30 s completes with no click", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const proxy = new FaultProxy(server.url, scope);
  const dir = await tempDir(scope);

  // The same upload through the clean proxy first, for the figure only.
  const clean = await diskFile(dir, "clean.jpg", SIZE);
  const a = await openPage(browser, scope);
  const cleanRun = await upload(a.page, proxy, clean.path);
  assert.equal(await storedSha256(server, cleanRun.uploadPath), clean.sha256);

  const file = await diskFile(dir, "video.jpg", SIZE);
  const { page, errors } = await openPage(browser, scope);
  const patches: string[] = [];
  page.on("requestfinished", async (r) => {
    if (r.method() !== "PATCH") return;
    const res = await r.response();
    patches.push(`${r.headers()["upload-offset"]}:${res?.status()}`);
  });
  page.on("requestfailed", (r) => {
    if (r.method() !== "PATCH") return;
    patches.push(`${r.headers()["upload-offset"]}:${r.failure()?.errorText}`);
  });
  proxy.set({ every: 3 * MiB, cuts: 8, holdMs: 30_000 });
  const faulty = await upload(page, proxy, file.path);
  assert.equal(await storedSha256(server, faulty.uploadPath), file.sha256, "stored intact");
  assert.equal(proxy.cutsDone, 8, "8 cuts");
  assert.equal(proxy.holdsDone, 1, "one hold");

  // Chromium resends a request on its own when a reused keep-alive connection resets before
  // any answer (seen here: the resent PATCH meets the moved offset, a 409 the engine follows
  // without a retry); the other cuts reach the engine as network errors. Either way each
  // fault ended one PATCH.
  const ended = patches.filter((p) => !p.endsWith(":204"));
  assert.ok(ended.length >= 4, `the faults ended PATCHes (${patches})`);
  const failures = (await events(page, "h5-upload-error")).map((e) => e.detail);
  assert.ok(failures.every((f) => f.willRetry), "every failure was retried by itself");
  const codes: string[] = failures.map((f) => f.error.code);
  // More failures than the old budget of 3 in a row allowed, and the hold taken for a stall.
  assert.ok(codes.length >= 4, `retried faults (${codes})`);
  assert.ok(codes.includes("CONNECTION_TIMEOUT"), `the hold was seen as a stall (${codes})`);
  const shown = await page.evaluate(() => globalThis.__retryingShown);
  assert.equal(shown, failures.length, `the row showed "retrying" at each (${shown} times)`);
  const states = await page.locator("h5-uploader [part~=file]").getAttribute("data-status");
  assert.equal(states, "completed");
  assert.deepEqual(errors, []);
  console.log(
    `32 MiB, one PATCH per file: ${(cleanRun.ms / 1000).toFixed(1)} s through a clean proxy, ` +
      `${(faulty.ms / 1000).toFixed(1)} s with ${proxy.cutsDone} cuts (every 3 MiB) and a ` +
      `30 s hold (stall-timeout 3 s); ${failures.length} automatic retries (${codes}); ` +
      `PATCHes ${patches}`,
  );
});
