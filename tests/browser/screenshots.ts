/**
 * Screenshots of what a person sees, taken by the browser tests: always into
 * `test-artifacts/` (gitignored), and into `docs/screenshots/` (committed, shown by the
 * README) when that copy is missing or `UPDATE_SCREENSHOTS=1` asks for new ones, so a test
 * run does not leave the work tree changed.
 */
import type { Page } from "playwright-core";
import { ARTIFACTS, DOCS_SCREENSHOTS } from "./support.ts";

export type ScreenshotName = "desktop" | "phone" | "dark";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The viewport (not the full page), at CSS pixel size to keep the files small. */
export async function saveScreenshot(page: Page, name: ScreenshotName): Promise<string> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  // Blinking carets and running animations would make every shot differ.
  await page.screenshot({ path, scale: "css", animations: "disabled", caret: "hide" });
  const docs = `${DOCS_SCREENSHOTS}${name}.png`;
  if (Deno.env.get("UPDATE_SCREENSHOTS") === "1" || !(await exists(docs))) {
    await Deno.mkdir(DOCS_SCREENSHOTS, { recursive: true });
    await Deno.copyFile(path, docs);
  }
  return path;
}
