/**
 * Element tests of the built widget (`dist/h5-uploader.js`, so no TypeScript step and the
 * real bundle) in Chromium through Playwright.
 *
 *   npm ci --prefix widget/element_tests
 *   npx --prefix widget/element_tests wtr --config widget/element_tests/web-test-runner.config.mjs
 *
 * Chromium: `CHROME_PATH`, else Debian's `/usr/bin/chromium` (Playwright's own browser
 * download does not work on a closed network). `tests/browser/element_wtr_test.ts` runs
 * this from `deno task test`.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// Required rather than imported: `deno check widget` walks this folder, and Deno cannot
// resolve the npm packages that live in this folder's own node_modules.
const require = createRequire(import.meta.url);
const { playwrightLauncher } = require("@web/test-runner-playwright");

const here = fileURLToPath(new URL(".", import.meta.url));
const executablePath = process.env.CHROME_PATH || "/usr/bin/chromium";
if (!existsSync(executablePath)) {
  throw new Error(
    `No Chromium at ${executablePath}: apt-get install -y chromium, or set CHROME_PATH`,
  );
}

export default {
  // The repository: the specs import ../../dist/h5-uploader.js and read custom-elements.json.
  rootDir: fileURLToPath(new URL("../../", import.meta.url)),
  files: [`${here}*.spec.js`],
  nodeResolve: false,
  concurrency: 1,
  browsers: [
    playwrightLauncher({
      product: "chromium",
      launchOptions: {
        executablePath,
        headless: true,
        // Chromium's background connections are refused on a closed network.
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      },
    }),
  ],
  browserStartTimeout: 60_000,
  testsStartTimeout: 60_000,
  testsFinishTimeout: 120_000,
  testFramework: { config: { timeout: 10_000 } },
};
