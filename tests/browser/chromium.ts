/**
 * Finds a Chromium to drive with Playwright, and launches it for this machine.
 *
 * Playwright's own browser download does not work on a closed network, so the order is:
 * `CHROME_PATH`, Debian's `/usr/bin/chromium`, Playwright's own browser when it happens to
 * be installed, then `apt-get install -y chromium` (as root, where apt-get exists); else a
 * clear error saying what to install.
 */
import { type Browser, chromium, type LaunchOptions } from "playwright-core";

/** Debian's package. */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/**
 * Chromium's own background connections (updates, sync, safe browsing, QUIC probes) are
 * refused on a closed network and only add noise and delay; the sandbox needs user
 * namespaces that containers often lack. Playwright adds its own `--user-data-dir`.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

export interface FindOptions {
  /** Environment lookup (default: `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Whether an executable file exists at `path`. */
  exists?: (path: string) => Promise<boolean>;
  /** Playwright's own browser path (which may not exist). */
  playwrightPath?: () => string;
  /** Installs Debian's chromium; resolves true when it ran and succeeded. */
  aptInstall?: () => Promise<boolean>;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function commandExists(name: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (dir && await isExecutableFile(`${dir}/${name}`)) return true;
  }
  return false;
}

/** `apt-get install -y chromium`, only as root and only where apt-get exists. */
async function aptInstallChromium(): Promise<boolean> {
  if (Deno.uid?.() !== 0 || !(await commandExists("apt-get"))) return false;
  console.error("No Chromium found: running apt-get install -y chromium ...");
  const run = async (...args: string[]) => {
    const { success } = await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
      stdin: "null",
    }).output();
    return success;
  };
  // A fresh machine has no package lists yet; an old list may name a version gone.
  return (await run("install", "-y", "chromium")) ||
    ((await run("update")) && (await run("install", "-y", "chromium")));
}

const NOT_FOUND = [
  "No Chromium for the browser tests.",
  "Install one, then run the tests again:",
  "  - Debian/Ubuntu: apt-get install -y chromium   (gives /usr/bin/chromium)",
  "  - or point CHROME_PATH at a Chrome/Chromium executable: CHROME_PATH=/path/to/chrome",
  "Playwright's browser download (npx playwright install) needs the internet.",
].join("\n");

/** The Chromium executable to use (see the module comment for the order). */
export async function findChromium(options: FindOptions = {}): Promise<string> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const exists = options.exists ?? isExecutableFile;
  const fromEnv = env("CHROME_PATH")?.trim();
  if (fromEnv) {
    if (await exists(fromEnv)) return fromEnv;
    throw new Error(`CHROME_PATH=${fromEnv} is not an executable file.\n\n${NOT_FOUND}`);
  }
  if (await exists(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  let own = "";
  try {
    own = (options.playwrightPath ?? (() => chromium.executablePath()))();
  } catch {
    // playwright-core does not know this platform: no own browser
  }
  if (own && await exists(own)) return own;
  if (await (options.aptInstall ?? aptInstallChromium)() && await exists(DEBIAN_CHROMIUM)) {
    return DEBIAN_CHROMIUM;
  }
  throw new Error(NOT_FOUND);
}

let found: Promise<string> | undefined;

/** Launches headless Chromium with the arguments this machine needs. */
export async function launch(options: LaunchOptions = {}): Promise<Browser> {
  const executablePath = await (found ??= findChromium());
  return await chromium.launch({
    headless: true,
    ...options,
    executablePath,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}
