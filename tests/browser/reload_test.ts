/**
 * Issue #8, item 3 in a real Chromium against the real server: a reload in the middle of an
 * upload lists it as waiting. A file up to `persist-max-size` (32 MiB) was kept in IndexedDB
 * and continues with no pick; a bigger one continues once the same file is picked.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  browserTest,
  configure,
  diskFile,
  fileInput,
  logPatches,
  openPage,
  PatchGate,
  startUploadServer,
  storedSha256,
  tempDir,
  waitForConfirmed,
  waitForEvents,
} from "./support.ts";

const MiB = 2 ** 20;

/** Waits until the element listed its upload for a reload (`kept`: the file is in IndexedDB). */
async function listedForReload(page: Page, kept: boolean): Promise<void> {
  await page.waitForFunction(
    (kept) =>
      Object.keys(localStorage).some((k) =>
        k.endsWith("|pending") && localStorage.getItem(k)!.includes(`"kept":${kept}`)
      ),
    kept,
  );
}

const pendingRecords = (page: Page) =>
  page.evaluate(() => Object.keys(localStorage).filter((k) => k.endsWith("|pending")).length);

/** Uploads `path` in 1 MiB PATCHes, holds the third, waits for the listing, reloads. */
async function reloadMidway(page: Page, path: string, kept: boolean) {
  await configure(page, { "chunk-size": "1MiB" });
  const gate = await PatchGate.install(page, 2);
  await fileInput(page).setInputFiles(path);
  await page.locator("h5-uploader").getByRole("button", { name: "Start upload" }).click();
  await gate.waitHeld("the 3rd PATCH");
  await waitForConfirmed(page, 2 * MiB);
  await listedForReload(page, kept);
  const patches = logPatches(page);
  await page.reload();
  gate.flush();
  gate.open();
  return patches;
}

browserTest(
  "a reload in the middle of a 5 MiB upload: it completes after the reload without picking the file again",
  async (
    { browser, scope },
  ) => {
    const server = await startUploadServer(scope);
    const file = await diskFile(await tempDir(scope), "kept.jpg", 5 * MiB);
    const { page, errors } = await openPage(browser, scope);
    await page.goto(`${server.url}/`);
    const patches = await reloadMidway(page, file.path, true);
    let picked = false;
    page.on("filechooser", () => picked = true);

    const row = page.locator('h5-uploader [part~=file][data-waiting="ready"]');
    await row.waitFor();
    assert.match(await row.innerText(), /kept\.jpg[\s\S]*MB[\s\S]*Interrupted/);
    const fraction = await row.locator("[role=progressbar]").getAttribute("aria-valuenow");
    assert.equal(fraction, "40", "2 of 5 MiB, from the server's offset");
    await row.getByRole("button", { name: "Continue kept.jpg" }).click();
    const [done] = await waitForEvents(page, "h5-upload-complete");
    assert.equal(picked, false, "no file chooser");
    assert.equal(patches.patches[0]?.offset, 2 * MiB, "continued at the server's offset");
    assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
    assert.equal(await pendingRecords(page), 0, "the record goes on completion");
    const kept = await page.evaluate(() =>
      new Promise<number>((resolve) => {
        const req = indexedDB.open("h5-uploader");
        req.onsuccess = () => {
          const all = req.result.transaction("files").objectStore("files").count();
          all.onsuccess = () => resolve(all.result);
        };
      })
    );
    assert.equal(kept, 0, "the kept file is deleted from IndexedDB");
    assert.deepEqual(errors, []);
  },
);

browserTest(
  "a reload in the middle of a 40 MiB upload: the widget lists it as waiting and completes it once the same file is picked",
  async (
    { browser, scope },
  ) => {
    const server = await startUploadServer(scope);
    const file = await diskFile(await tempDir(scope), "big.mp4", 40 * MiB);
    const { page, errors } = await openPage(browser, scope);
    await page.goto(`${server.url}/`);
    const patches = await reloadMidway(page, file.path, false);

    const row = page.locator('h5-uploader [part~=file][data-waiting="file"]');
    await row.waitFor();
    assert.match(await row.innerText(), /big\.mp4[\s\S]*pick the same file to continue/);
    await row.locator("[part~=continue] input[type=file]").setInputFiles(file.path);
    const [done] = await waitForEvents(page, "h5-upload-complete");
    assert.equal(patches.patches[0]?.offset, 2 * MiB, "continued at the server's offset");
    assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
    assert.equal(await pendingRecords(page), 0, "the record goes on completion");
    assert.deepEqual(errors, []);
  },
);
