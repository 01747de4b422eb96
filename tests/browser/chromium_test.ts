/** Which Chromium the browser tests use, and what they say when there is none. */
import assert from "node:assert/strict";
import { DEBIAN_CHROMIUM, findChromium, type FindOptions } from "./chromium.ts";

/** A machine with these executables and this environment; records apt-get runs. */
function machine(files: string[], env: Record<string, string> = {}, aptGives = false) {
  const present = new Set(files);
  const calls = { apt: 0 };
  const options: FindOptions = {
    env: (name) => env[name],
    exists: (path) => Promise.resolve(present.has(path)),
    playwrightPath: () => "/root/.cache/ms-playwright/chromium-1/chrome-linux/chrome",
    aptInstall: () => {
      calls.apt++;
      if (aptGives) present.add(DEBIAN_CHROMIUM);
      return Promise.resolve(aptGives);
    },
  };
  return { options, calls };
}

Deno.test("findChromium: CHROME_PATH first, then Debian's, then Playwright's own", async () => {
  const own = "/root/.cache/ms-playwright/chromium-1/chrome-linux/chrome";
  const all = [DEBIAN_CHROMIUM, own, "/opt/chrome"];
  assert.equal(
    await findChromium(machine(all, { CHROME_PATH: "/opt/chrome" }).options),
    "/opt/chrome",
  );
  assert.equal(await findChromium(machine(all).options), DEBIAN_CHROMIUM);
  assert.equal(await findChromium(machine([own]).options), own);
});

Deno.test("findChromium: installs Debian's chromium when there is none", async () => {
  const { options, calls } = machine([], {}, true);
  assert.equal(await findChromium(options), DEBIAN_CHROMIUM);
  assert.equal(calls.apt, 1);
});

Deno.test("findChromium: a clear message when nothing can be found or installed", async () => {
  const { options, calls } = machine([]);
  const error = await findChromium(options).then(() => null, (e: Error) => e);
  assert.ok(error instanceof Error);
  assert.match(error.message, /No Chromium for the browser tests/);
  assert.match(error.message, /apt-get install -y chromium/);
  assert.match(error.message, /CHROME_PATH/);
  assert.equal(calls.apt, 1);
});

Deno.test("findChromium: a CHROME_PATH that is not there is an error, not a fallback", async () => {
  const { options } = machine([DEBIAN_CHROMIUM], { CHROME_PATH: "/nope/chrome" });
  await assert.rejects(findChromium(options), /CHROME_PATH=\/nope\/chrome is not an executable/);
});

Deno.test("findChromium: this machine has one", async () => {
  const path = await findChromium();
  assert.ok((await Deno.stat(path)).isFile, path);
});
