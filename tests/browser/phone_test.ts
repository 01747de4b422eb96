/**
 * The demo page on a phone (375x667, touch) in a real Chromium against the real server:
 * one column, 44 px touch targets, upload by tap, and no horizontal scroll at 320 px.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { saveScreenshot } from "./screenshots.ts";
import {
  browserTest,
  configure,
  diskFile,
  openPage,
  PatchGate,
  startUploadServer,
  storedSha256,
  tempDir,
  waitForEvents,
} from "./support.ts";

const PHONE = {
  viewport: { width: 375, height: 667 },
  deviceScaleFactor: 2,
  hasTouch: true,
  isMobile: true,
};

interface Box {
  what: string;
  width: number;
  height: number;
}

/** Every touch target of the element: its buttons and the drop zone (the input's label). */
function touchTargets(page: Page): Promise<Box[]> {
  return page.locator("h5-uploader").evaluate((el) =>
    [...el.shadowRoot!.querySelectorAll("button, [part~=dropzone]")].map((target) => {
      const { width, height } = target.getBoundingClientRect();
      const what = target.getAttribute("aria-label") ?? target.textContent!.trim().slice(0, 40);
      return { what, width, height };
    })
  );
}

function assertTouchable(boxes: Box[], when: string): void {
  assert.ok(boxes.length > 0, `no touch targets ${when}`);
  const small = boxes.filter((b) => b.width < 44 || b.height < 44);
  assert.deepEqual(small, [], `touch targets under 44x44 px ${when}`);
}

browserTest("phone 375x667: one column, 44 px targets, upload by tap", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const files = [
    await diskFile(dir, "IMG_20250501_063012_sunrise_over_the_cloud_terrace.jpg", 3 * 2 ** 20),
    await diskFile(dir, "cable-car.jpg", 400_000),
  ];
  const { page, errors } = await openPage(browser, scope, PHONE);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const element = page.locator("h5-uploader");
  const dropzone = element.locator("[part~=dropzone]");
  assert.match(await dropzone.innerText(), /Tap to choose or take photos/);

  // The page's sections stack in one column, each as wide as the screen allows.
  const sections = await page.locator("main > section").evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    })
  );
  assert.ok(sections.length >= 2);
  for (let i = 1; i < sections.length; i++) {
    assert.ok(
      sections[i]!.top >= sections[i - 1]!.bottom,
      `section ${i} is below section ${i - 1}`,
    );
    assert.equal(sections[i]!.left, sections[0]!.left);
  }
  assert.ok(sections.every((s) => s.right <= 375));

  // Upload by tap: the drop zone opens the file chooser.
  const chooser = page.waitForEvent("filechooser");
  await dropzone.tap();
  await (await chooser).setFiles(files.map((f) => f.path));
  const gate = await PatchGate.install(page, 1);
  await element.getByRole("button", { name: "Start upload" }).tap();
  await gate.waitHeld();

  // Mid-upload: pause, cancel, per-file buttons; the row's buttons sit under its name.
  await element.getByRole("button", { name: "Pause all" }).waitFor();
  assertTouchable(await touchTargets(page), "while uploading");
  const layout = await element.locator("[part~=file]").first().evaluate((row) => {
    const name = row.querySelector("[part~=name]")!.getBoundingClientRect();
    const button = row.querySelector("button")!.getBoundingClientRect();
    return {
      nameBottom: name.bottom,
      buttonTop: button.top,
      rowRight: row.getBoundingClientRect().right,
    };
  });
  assert.ok(layout.buttonTop >= layout.nameBottom, "one column: the row's buttons under its name");
  assert.ok(layout.rowRight <= 375);
  await element.evaluate((el) => el.scrollIntoView({ block: "start" }));
  await saveScreenshot(page, "phone");

  gate.open();
  const [done] = await waitForEvents(page, "h5-session-complete");
  assert.equal(done!.detail.uploadPaths.length, 2);
  for (const event of await waitForEvents(page, "h5-upload-complete", 2)) {
    const file = files.find((f) => f.name === event.detail.file.name)!;
    assert.equal(await storedSha256(server, event.detail.uploadPath), file.sha256, file.name);
  }
  assertTouchable(await touchTargets(page), "when done");
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375));
  assert.deepEqual(errors, []);
});

browserTest("320 px wide: no horizontal scroll, with a long file name and a refusal", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const { page, errors } = await openPage(browser, scope, {
    ...PHONE,
    viewport: { width: 320, height: 640 },
  });
  await page.goto(`${server.url}/`);
  const widths = () =>
    page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      element: document.querySelector("h5-uploader")!.getBoundingClientRect().right,
    }));
  let w = await widths();
  assert.ok(w.scroll <= 320, `empty: scrollWidth ${w.scroll}`);

  await page.locator("h5-uploader").evaluate((el) => {
    const name = "a-very-long-file-name-without-any-spaces-from-a-camera-roll-0001.jpg";
    (el as HTMLElement & { addFiles(files: File[]): unknown }).addFiles([
      new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])], name, { type: "image/jpeg" }),
      new File(["plain text"], "notes-with-a-long-name-that-is-refused.txt", {
        type: "text/plain",
      }),
    ]);
  });
  await page.locator("h5-uploader [part~=message]").waitFor();
  await page.locator("h5-uploader [part~=file]").waitFor();
  w = await widths();
  assert.ok(w.scroll <= 320, `with files: scrollWidth ${w.scroll}`);
  assert.ok(w.element <= 320, `with files: the element ends at ${w.element}`);
  assertTouchable(await touchTargets(page), "at 320 px");
  assert.deepEqual(errors, []);
});
