/**
 * What the browser tests share: the widget bundle, the real server with the widget and demo
 * routes, files on disk to pick, the element's events recorded in the page, and checks of
 * the stored files.
 */
import type {
  Browser,
  BrowserContext,
  BrowserContextOptions,
  Page,
  Request,
} from "playwright-core";
import type { RoomEvent } from "../../protocol/events.ts";
import { loadConfig } from "../../server/config.ts";
import { type RunningServer, startServer } from "../../server/main.ts";
import { widgetRoutes } from "../../server/routes/widget.ts";
import { fileBytes, sha256Hex } from "../../server/testing/harness.ts";
import { within } from "../support/deadline.ts";
import { type Scope, scoped } from "../support/scope.ts";
import { launch } from "./chromium.ts";

export const ROOT = new URL("../../", import.meta.url);
/** Where screenshots go (gitignored). */
export const ARTIFACTS = new URL("test-artifacts/", ROOT).pathname;
/** Committed screenshots for the README. */
export const DOCS_SCREENSHOTS = new URL("docs/screenshots/", ROOT).pathname;

/**
 * Builds `dist/h5-uploader.js` when it is missing or older than its sources
 * (`widget/build.ts --if-missing` does nothing otherwise), so the real bundle is tested.
 */
export async function ensureWidgetBuilt(): Promise<void> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "widget/build.ts", "--if-missing"],
    cwd: ROOT.pathname,
    stdin: "null",
  }).output();
  if (!success) {
    const text = new TextDecoder();
    throw new Error(
      `Cannot build the widget (deno run -A widget/build.ts):\n${text.decode(stdout)}${
        text.decode(stderr)
      }`,
    );
  }
}

export interface UploadServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  dataDir: string;
  uploadsDir: string;
  running: RunningServer;
  close(): Promise<void>;
}

/** The real server (API, Socket.IO, widget file and demo page) on a free port. */
export async function startUploadServer(
  scope: Scope,
  env: Record<string, string> = {},
): Promise<UploadServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "h5-browser-" });
  scope.defer("remove the data folder", () => Deno.remove(dataDir, { recursive: true }));
  const config = loadConfig({ H5_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", ...env });
  const running = await startServer(config, {
    quiet: true,
    extra: widgetRoutes({
      distDir: new URL("dist", ROOT),
      demoDir: new URL("demo", ROOT),
      allowedOrigins: config.allowedOrigins,
    }),
  });
  let closing: Promise<void> | undefined;
  const close = () => closing ??= within(running.close(), "the upload server to close");
  scope.defer("close the upload server", close);
  return { url: running.url, dataDir, uploadsDir: `${dataDir}/uploads`, running, close };
}

export interface DiskFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/**
 * A JPEG-headed file of `size` bytes on disk (picked by path, so a second pick has the same
 * name, size and date: the same fingerprint). Contents differ by size.
 */
export async function diskFile(dir: string, name: string, size: number): Promise<DiskFile> {
  const bytes = fileBytes(size);
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, bytes);
  return { path, name, size, sha256: await sha256Hex(bytes) };
}

/** A temp folder removed at the end of the scope. */
export async function tempDir(scope: Scope): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "h5-files-" });
  scope.defer("remove the files", () => Deno.remove(dir, { recursive: true }));
  return dir;
}

/** sha256 of a stored upload (`uploadPath` is relative to the uploads folder). */
export async function storedSha256(server: UploadServer, uploadPath: string): Promise<string> {
  return await sha256Hex(await Deno.readFile(`${server.uploadsDir}/${uploadPath}`));
}

// ---------------------------------------------------------------- events in the page

export interface RecordedEvent {
  type: string;
  // deno-lint-ignore no-explicit-any
  detail: any;
  /** Heard on `document`: it bubbled out of the shadow root. */
  composed: boolean;
}

declare global {
  var __h5Events: RecordedEvent[];
}

/** Every `h5-*` event heard on `document`, kept in `window.__h5Events` (across reloads: anew). */
export async function recordEvents(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    globalThis.__h5Events = [];
    for (
      const type of [
        "h5-upload-start",
        "h5-upload-progress",
        "h5-upload-complete",
        "h5-upload-error",
        "h5-session-complete",
      ]
    ) {
      document.addEventListener(type, (event) => {
        const detail = JSON.parse(JSON.stringify((event as CustomEvent).detail ?? null));
        globalThis.__h5Events.push({ type, detail, composed: event.composed });
      });
    }
  });
}

export function events(page: Page, type?: string): Promise<RecordedEvent[]> {
  return page.evaluate((t) => globalThis.__h5Events.filter((e) => !t || e.type === t), type);
}

/** Waits until `count` events of `type` were heard; returns them. */
export async function waitForEvents(
  page: Page,
  type: string,
  count = 1,
  timeout = 30_000,
): Promise<RecordedEvent[]> {
  await page.waitForFunction(
    ([t, n]) => globalThis.__h5Events.filter((e) => e.type === t).length >= (n as number),
    [type, count] as const,
    { timeout },
  );
  return await events(page, type);
}

// ---------------------------------------------------------------- the element

/** State of the element, read in the page. */
export interface ElementState {
  connection: string;
  files: { name: string; status: string; progress: number; bytesConfirmed: number }[];
}

export function elementState(page: Page, selector = "h5-uploader"): Promise<ElementState> {
  return page.locator(selector).evaluate((el) => {
    const state = (el as HTMLElement & {
      state: { connection: string; files: ElementState["files"] };
    }).state;
    return {
      connection: state.connection,
      files: state.files.map((f) => ({
        name: f.name,
        status: f.status,
        progress: f.progress,
        bytesConfirmed: f.bytesConfirmed,
      })),
    };
  });
}

/** Waits until the server confirmed at least `bytes` of the element's first file. */
export async function waitForConfirmed(page: Page, bytes: number): Promise<void> {
  await page.waitForFunction((bytes) => {
    const el = document.querySelector("h5-uploader") as unknown as {
      files: readonly { bytesConfirmed: number }[];
    };
    return (el.files[0]?.bytesConfirmed ?? 0) >= bytes;
  }, bytes);
}

/** Waits until every file of the element has `status`. */
export async function waitForStatus(
  page: Page,
  status: string,
  options: { name?: string; timeout?: number } = {},
): Promise<void> {
  await page.waitForFunction(
    ([s, name]) => {
      const el = document.querySelector("h5-uploader") as unknown as
        | { files: readonly { name: string; status: string }[] }
        | null;
      const files = el?.files.filter((f) => !name || f.name === name) ?? [];
      return files.length > 0 && files.every((f) => f.status === s);
    },
    [status, options.name ?? ""] as const,
    { timeout: options.timeout ?? 30_000 },
  );
}

/** Requests of the tus upload (PATCH), with the Upload-Offset and body size of each. */
export interface PatchLog {
  patches: { offset: number; bytes: number; url: string }[];
  /** Body bytes of every PATCH sent since `mark`. */
  bytesSince(mark: number): number;
}

export function logPatches(page: Page): PatchLog {
  const log: PatchLog = {
    patches: [],
    bytesSince: (mark) => log.patches.slice(mark).reduce((n, p) => n + p.bytes, 0),
  };
  page.on("request", (request: Request) => {
    if (request.method() !== "PATCH") return;
    log.patches.push({
      offset: Number(request.headers()["upload-offset"]),
      bytes: request.postDataBuffer()?.length ?? 0,
      url: request.url(),
    });
  });
  return log;
}

/**
 * Holds tus PATCH requests while closed, so a test acts while an upload is under way
 * without racing it. `allow(n)` lets the next n through, then holds again.
 */
export class PatchGate {
  #budget = Infinity;
  #held: (() => Promise<void>)[] = [];
  #waiters: (() => void)[] = [];

  static async install(page: Page, budget = Infinity): Promise<PatchGate> {
    const gate = new PatchGate();
    gate.#budget = budget;
    await page.route("**/api/uploads/**", (route) => {
      if (route.request().method() !== "PATCH") return route.fallback();
      // The page may have aborted it meanwhile (pause, reload): nothing to continue then.
      const go = () => route.continue().catch(() => {});
      if (gate.#budget > 0) {
        gate.#budget--;
        return go();
      }
      gate.#held.push(go);
      for (const w of gate.#waiters.splice(0)) w();
    });
    return gate;
  }

  /** Resolves once a PATCH is being held. */
  async waitHeld(what = "a PATCH to be held"): Promise<void> {
    if (this.#held.length) return;
    await within(new Promise<void>((resolve) => this.#waiters.push(resolve)), what);
  }

  /** Lets `n` more through (held ones first), then holds. */
  allow(n: number): void {
    this.#budget = n;
    while (this.#budget > 0 && this.#held.length) {
      this.#budget--;
      void this.#held.shift()!();
    }
  }

  open(): void {
    this.allow(Infinity);
  }

  /** Releases the held ones (the page aborted them, or they may go now) and stays shut. */
  flush(): void {
    for (const go of this.#held.splice(0)) void go();
  }
}

// ---------------------------------------------------------------- pages

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page (a test may assert there were none). */
  errors: string[];
}

/**
 * A page in a fresh context (its own storage), recording the element's events. A reload
 * in the middle of an upload meets the element's `beforeunload` warning: accepted.
 */
export async function openPage(
  browser: Browser,
  scope: Scope,
  options: BrowserContextOptions = {},
): Promise<TestPage> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: "en-US",
    ...options,
  });
  scope.defer("close the browser context", () => context.close());
  await recordEvents(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("dialog", (dialog) => void dialog.accept().catch(() => {}));
  return { context, page, errors };
}

/** Sets attributes on the page's element before any file is added (the engine is made then). */
export async function configure(page: Page, attributes: Record<string, string>): Promise<void> {
  await page.locator("h5-uploader").evaluate((el, attrs) => {
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  }, attributes);
}

/** The element's native file input (in its open shadow root). */
export const fileInput = (page: Page) => page.locator("h5-uploader input[type=file]");

/** The session id the element uses. */
export function sessionIdOf(page: Page): Promise<string | null> {
  return page.locator("h5-uploader").evaluate((el) =>
    (el as HTMLElement & { sessionId: string | null }).sessionId
  );
}

// ---------------------------------------------------------------- tests

let built: Promise<void> | undefined;

export interface BrowserTestContext {
  browser: Browser;
  scope: Scope;
  t: Deno.TestContext;
}

/**
 * A test with its own Chromium and a scope cleaned up afterwards (pages, servers, files).
 * The widget bundle is built first when missing or stale.
 */
export function browserTest(
  name: string,
  fn: (ctx: BrowserTestContext) => Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn"> = {},
): void {
  Deno.test({
    name,
    ...options,
    fn: (t) =>
      scoped(async (scope) => {
        await (built ??= ensureWidgetBuilt());
        const browser = await launch();
        scope.defer("close the browser", () => browser.close());
        await fn({ browser, scope, t });
      }),
  });
}

/** Resolves with the first room event the server publishes that matches (bounded wait). */
export function serverEvent(
  server: UploadServer,
  match: (event: RoomEvent) => boolean,
  what: string,
  ms = 15_000,
): Promise<RoomEvent> {
  let off = () => {};
  const heard = new Promise<RoomEvent>((resolve) => {
    off = server.running.bus.subscribe((event) => {
      if (match(event)) resolve(event);
    });
  });
  return within(heard, what, ms).finally(() => off());
}

/**
 * Starts watching the element's shadow root for `text` (a MutationObserver, so a state that
 * shows for a moment is not missed between two looks); `seen()` waits until it appeared.
 */
export async function watchText(page: Page, text: string): Promise<{ seen(): Promise<void> }> {
  const key = `__h5Seen_${text.replace(/\W+/g, "_")}`;
  await page.locator("h5-uploader").evaluate((el, [key, text]) => {
    const flags = globalThis as unknown as Record<string, boolean>;
    const root = el.shadowRoot!;
    flags[key] = root.textContent!.includes(text);
    const observer = new MutationObserver(() => {
      if (root.textContent!.includes(text)) {
        flags[key] = true;
        observer.disconnect();
      }
    });
    observer.observe(root, { subtree: true, childList: true, characterData: true });
  }, [key, text] as const);
  return {
    seen: async () => {
      await page.waitForFunction(
        (key) => (globalThis as unknown as Record<string, boolean>)[key] === true,
        key,
      );
    },
  };
}

/** Finished files under the uploads folder (partial uploads in `.parts/` left out). */
export async function storedFiles(server: UploadServer): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".")) continue;
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`);
      else found.push(`${prefix}${entry.name}`);
    }
  };
  await walk(server.uploadsDir, "");
  return found.sort();
}
