/**
 * Runs the element tests (`widget/element_tests/`, @web/test-runner with its Playwright
 * launcher, Node tools) against the built bundle, so `deno task test` covers them too.
 */
import assert from "node:assert/strict";
import { findChromium } from "./chromium.ts";
import { ensureWidgetBuilt, ROOT } from "./support.ts";

const DIR = new URL("widget/element_tests/", ROOT).pathname;
const decoder = new TextDecoder();

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      cwd: ROOT.pathname,
      env: { NO_COLOR: "1", FORCE_COLOR: "0", ...env },
      stdin: "null",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${command} is not installed: the element tests need Node.js and npm`);
    }
    throw error;
  }
  return {
    code: output.code,
    text: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("element tests (@web/test-runner + Playwright) pass on the built bundle", async () => {
  if (!(await exists(`${DIR}node_modules/.bin/wtr`))) {
    const install = await run("npm", [
      "ci",
      "--prefix",
      "widget/element_tests",
      "--no-audit",
      "--no-fund",
    ]);
    assert.equal(install.code, 0, `npm ci in widget/element_tests failed:\n${install.text}`);
  }
  await ensureWidgetBuilt();
  const chrome = await findChromium();
  const wtr = await run(`${DIR}node_modules/.bin/wtr`, [
    "--config",
    "widget/element_tests/web-test-runner.config.mjs",
  ], { CHROME_PATH: chrome });
  assert.equal(wtr.code, 0, `wtr failed (exit ${wtr.code}):\n${wtr.text}`);
  assert.match(wtr.text, /all tests passed/, wtr.text);
  const counts = [...wtr.text.matchAll(/(\d+) passed, (\d+) failed/g)].at(-1);
  assert.ok(counts, `no "N passed, M failed" line in:\n${wtr.text}`);
  assert.equal(counts[2], "0", wtr.text);
  assert.ok(Number(counts[1]) >= 8, `only ${counts[1]} element tests ran:\n${wtr.text}`);
});
