/**
 * What a person sees when a session ends without success (issue #7, item 15), in a real
 * Chromium against the real server: a refused file makes the summary say so, the total bar
 * stops below 100 % and turns to the danger colour, and no `h5-session-complete` fires.
 */
import assert from "node:assert/strict";
import {
  browserTest,
  diskFile,
  events,
  fileInput,
  openPage,
  startUploadServer,
  tempDir,
  waitForEvents,
} from "./support.ts";

browserTest("a refused file: the summary says it failed, no session-complete", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const good = await diskFile(dir, "good.jpg", 4000);
  // Named and typed as a JPEG, but text: the server refuses it on its first bytes (415).
  const bad = `${dir}/bad.jpg`;
  await Deno.writeTextFile(bad, "not a picture, only words\n".repeat(200).slice(0, good.size));
  const { page } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  const element = page.locator("h5-uploader");
  await element.evaluate((el) => el.setAttribute("multiple", ""));
  await fileInput(page).setInputFiles([good.path, bad]);
  await element.getByRole("button", { name: "Start upload" }).click();

  await waitForEvents(page, "h5-upload-complete");
  const summary = element.locator("[part~=summary][data-status=failed]");
  await summary.waitFor({ timeout: 30_000 });
  assert.match(await summary.innerText(), /1 of 2 files uploaded · 50% · 1 file failed/);
  assert.equal(
    await element.locator("[part~=total-progress]").getAttribute("aria-valuenow"),
    "50",
  );
  const fill = await summary.locator("[part~=progress-fill]").evaluate((el) =>
    getComputedStyle(el).backgroundColor
  );
  assert.equal(fill, "rgb(185, 28, 28)", "the total bar is in the danger colour");
  assert.equal((await events(page, "h5-session-complete")).length, 0);
  assert.equal(
    await element.evaluate((el) => (el as unknown as { state: { ended: string } }).state.ended),
    "failed",
  );
});
