/**
 * axe-core on the element (it checks open shadow roots) in a real Chromium: idle, with
 * files listed and a refused one, uploading, done; in the light and the dark scheme.
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import type { Page } from "playwright-core";
import { saveScreenshot } from "./screenshots.ts";
import {
  browserTest,
  configure,
  diskFile,
  fileInput,
  openPage,
  PatchGate,
  startUploadServer,
  tempDir,
  waitForEvents,
} from "./support.ts";

/** The whole axe-core script (what `axe.min.js` is, unminified), injected into pages. */
const AXE_SOURCE: string = (axe as unknown as { source: string }).source;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown; failureSummary?: string }[];
}

/** Runs axe on the element; returns its violations (none expected). */
async function violations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => "axe" in globalThis))) {
    await page.addScriptTag({ content: AXE_SOURCE });
  }
  return await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const axe = (globalThis as any).axe;
    const result = await axe.run(document.querySelector("h5-uploader"), {
      resultTypes: ["violations"],
    });
    return result.violations.map((v: Violation) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
}

async function assertAccessible(page: Page, when: string): Promise<void> {
  const found = await violations(page);
  assert.deepEqual(found, [], `axe violations ${when}:\n${JSON.stringify(found, null, 2)}`);
}

for (const scheme of ["light", "dark"] as const) {
  browserTest(`axe: no violations, ${scheme} scheme (idle, files listed, uploading, done)`, async (
    { browser, scope },
  ) => {
    const server = await startUploadServer(scope);
    const dir = await tempDir(scope);
    const files = [
      await diskFile(dir, "sunrise.jpg", 2 * 2 ** 20),
      await diskFile(dir, "cable-car.jpg", 600_000),
    ];
    const { page, errors } = await openPage(browser, scope, { colorScheme: scheme });
    await page.goto(`${server.url}/`);
    assert.equal(
      await page.evaluate(() => matchMedia("(prefers-color-scheme: dark)").matches),
      scheme === "dark",
    );
    await configure(page, { "chunk-size": "1MiB" });
    await assertAccessible(page, "idle");

    await fileInput(page).setInputFiles(files.map((f) => f.path));
    await page.locator("h5-uploader").evaluate((el) =>
      (el as HTMLElement & { addFiles(files: File[]): unknown }).addFiles([
        new File(["text"], "notes.txt", { type: "text/plain" }),
      ])
    );
    await page.locator("h5-uploader [part~=message]").waitFor();
    await assertAccessible(page, "with files listed and one refused");

    const gate = await PatchGate.install(page, 1);
    await page.locator("h5-uploader").getByRole("button", { name: "Start upload" }).click();
    await gate.waitHeld();
    await page.locator("h5-uploader").getByRole("button", { name: "Pause all" }).waitFor();
    await assertAccessible(page, "while uploading");
    if (scheme === "dark") {
      await page.locator("h5-uploader").evaluate((el) => el.scrollIntoView({ block: "center" }));
      await saveScreenshot(page, "dark");
    }

    gate.open();
    await waitForEvents(page, "h5-session-complete");
    await page.locator("h5-uploader [part~=file][data-status=completed]").nth(1).waitFor();
    await assertAccessible(page, "when done");
    assert.deepEqual(errors, []);
  });
}
