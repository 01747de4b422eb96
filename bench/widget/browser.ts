/**
 * Upload throughput of `<h5-uploader>` in headless Chromium against the limit: a plain
 * `fetch(url, {method: "PUT", body: file})` of the same file to the bare server
 * (`bench/bare_server.ts`, the body piped into a file).
 *
 * - The widget: our server in this process (API + widget routes serving the bundle just
 *   made and `bench/widget/page/index.html`), a fresh browser context per upload, the file
 *   picked with `setInputFiles` into `<h5-uploader auto-start>`; timed in the page from just
 *   before the pick to `h5-upload-complete`. Two chunk sizes: 8 MiB PATCHes
 *   and one PATCH for the whole file; the better is the widget's figure. The stored file's
 *   sha256 must equal the source's.
 * - The fetch: the bare server as a child process. Its page is served from the bare
 *   server's own origin (Playwright answers that one navigation, then stops routing), so
 *   the PUT is same-origin like the widget's PATCHes: no CORS, no preflight, and
 *   `bench/bare_server.ts` stays as it is. Timed in the page around the `fetch`.
 *
 * The file is the same on disk for both (a `video/mp4`, so the widget makes no image
 * preview of it). Each figure is the best of the rounds (other work shares the 2 cores);
 * every sample is kept in the figures.
 */
import { createHash } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { loadConfig } from "../../server/config.ts";
import { type RunningServer, startServer } from "../../server/main.ts";
import { widgetRoutes } from "../../server/routes/widget.ts";
import { launch } from "../../tests/browser/chromium.ts";
import { Scope } from "../../tests/support/scope.ts";

const MiB = 2 ** 20;
const HERE = new URL("./", import.meta.url);
const BARE = new URL("../bare_server.ts", HERE).pathname;
const PAGE_DIR = new URL("page/", HERE);
/** A common explicit `chunk-size` (the widget's default is one PATCH per file). */
export const DEFAULT_CHUNK = 8 * MiB;

export interface BrowserOptions {
  fileMiB: number;
  rounds: number;
  /** Scratch folder; everything made here is removed at the end. */
  tmpDir: string;
  /** The widget bundle to serve (`dist/h5-uploader.js` as `widget/build.ts` makes it). */
  widgetJs: Uint8Array;
  progress(message: string): void;
}

export interface Variant {
  label: string;
  /** Bytes per PATCH. */
  chunkSize: number;
  /** MB/s (1e6 bytes per second) of each round. */
  samples: number[];
  best: number;
  /** Pick to the first PATCH of each round, ms (session, socket, announce, creation). */
  startupMs: number[];
  /** PATCH requests of one upload. */
  patches: number;
  /** Retries the widget reported (h5-upload-error with willRetry), over all rounds. */
  retries: number;
}

export interface BrowserFigures {
  /** The better widget variant's best round, MB/s. */
  widgetMBps: number;
  /** The plain fetch PUT's best round, MB/s. */
  fetchMBps: number;
  ratioToFetch: number;
  fileMiB: number;
  /** Bytes per PATCH of the better widget variant. */
  chunkSize: number;
  rounds: number;
  fetchSamples: number[];
  variants: Variant[];
  method: string;
}

const mbps = (bytes: number, ms: number) => (bytes / 1e6) / (ms / 1000);
const round1 = (n: number) => Math.round(n * 10) / 10;

/** An MP4 header (so the server's sniffing sees video/mp4), then random bytes. */
const MP4_HEAD = new Uint8Array([
  0x00,
  0x00,
  0x00,
  0x18,
  ...new TextEncoder().encode("ftypisom"),
  0x00,
  0x00,
  0x02,
  0x00,
  ...new TextEncoder().encode("isomiso2"),
]);

export async function makeFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { write: true, createNew: true });
  const block = new Uint8Array(MiB);
  for (let written = 0; written < size; written += MiB) {
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
    if (written === 0) block.set(MP4_HEAD);
    const part = block.subarray(0, Math.min(MiB, size - written));
    hash.update(part);
    for (let n = 0; n < part.length;) n += await file.write(part.subarray(n));
  }
  return hash.digest("hex");
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Rejects after `ms` with a message naming what did not happen. */
export async function within<T>(promise: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A server in its own process. */
export interface ChildServer {
  url: string;
  pid: number;
}

/**
 * `deno run -A <script> ...args` with PORT=0 (and `env`), resolved once it printed `listening on <url>`;
 * the scope stops it (SIGTERM) and reaps it.
 */
export async function startChild(
  scope: Scope,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const name = script.slice(script.lastIndexOf("/bench/") + 1);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    env: { PORT: "0", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const listening = Promise.withResolvers<string>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) listening.resolve(match[1]!);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    listening.reject(new Error(`${name} exited (${s.code}) before listening:\n${text}`));
    return s;
  });
  listening.promise.catch(() => {});
  scope.defer(`stop ${name}`, async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone meanwhile
      }
    }
    await status;
    await drained;
  });
  return { url: await within(listening.promise, `${name} to listen`, 30_000), pid: child.pid };
}

/** Records the element's outcome in the page: `__bench.done` settles on complete or failure. */
export const INIT = () => {
  const bench = {
    t0: 0,
    retries: 0,
    /** h5-upload-progress events heard (each one a render of the element). */
    progress: 0,
    done: null as unknown as Promise<{ t: number; uploadPath: string }>,
  };
  document.addEventListener("h5-upload-progress", () => bench.progress++);
  bench.done = new Promise((resolve, reject) => {
    document.addEventListener("h5-upload-complete", (event) => {
      const detail = (event as CustomEvent).detail as { uploadPath: string };
      resolve({ t: performance.now(), uploadPath: detail.uploadPath });
    });
    document.addEventListener("h5-upload-error", (event) => {
      const detail = (event as CustomEvent).detail as {
        error: { code?: string; message?: string };
        willRetry: boolean;
      };
      if (detail.willRetry) bench.retries++;
      else reject(new Error(`h5-upload-error ${detail.error.code}: ${detail.error.message}`));
    });
  });
  bench.done.catch(() => {});
  (globalThis as unknown as { __bench: typeof bench }).__bench = bench;
};

export interface BenchGlobal {
  __bench: {
    t0: number;
    retries: number;
    progress: number;
    done: Promise<{ t: number; uploadPath: string }>;
  };
}

interface Ctx {
  browser: Browser;
  server: RunningServer;
  uploadsDir: string;
  bare: ChildServer;
  bareDir: string;
  timeoutMs: number;
}

/** One widget upload, after checking the stored file. */
interface WidgetRun {
  /** Pick to `h5-upload-complete`. */
  ms: number;
  /** Pick to the first PATCH leaving (session, socket, announce, tus creation). */
  startupMs: number;
  patches: number;
  retries: number;
}

async function widgetUpload(
  ctx: Ctx,
  file: { path: string; size: number; sha256: string },
  chunkSize: number,
): Promise<WidgetRun> {
  const context = await ctx.browser.newContext();
  const errors: string[] = [];
  try {
    await context.addInitScript(INIT);
    const page = await context.newPage();
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`${ctx.server.url}/`);
    await page.waitForFunction(() => customElements.get("h5-uploader") !== undefined);
    const element = page.locator("h5-uploader");
    await element.evaluate((el, size) => el.setAttribute("chunk-size", String(size)), chunkSize);
    await page.evaluate(() => {
      performance.setResourceTimingBufferSize(10_000);
      (globalThis as unknown as BenchGlobal).__bench.t0 = performance.now();
    });
    await page.locator("h5-uploader input[type=file]").setInputFiles(file.path);
    const result = await within(
      page.evaluate(async (expected) => {
        const bench = (globalThis as unknown as BenchGlobal).__bench;
        const { t, uploadPath } = await bench.done;
        // The PATCHes: XHRs to an upload's own URL (creation is a POST to /api/uploads).
        // Their timing entries may land a moment after the element's event: wait for them.
        const patches = () =>
          (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
            .filter((e) =>
              e.initiatorType === "xmlhttprequest" && e.startTime >= bench.t0 &&
              /\/api\/uploads\/[^/]+$/.test(new URL(e.name).pathname)
            );
        for (let i = 0; i < 50 && patches().length < expected; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const found = patches();
        return {
          ms: t - bench.t0,
          startupMs: (found[0]?.startTime ?? NaN) - bench.t0,
          patches: found.length,
          uploadPath,
          retries: bench.retries,
        };
      }, Math.ceil(file.size / chunkSize)),
      `the widget to upload ${file.size} bytes (chunk ${chunkSize})`,
      ctx.timeoutMs,
    );
    const stored = `${ctx.uploadsDir}/${result.uploadPath}`;
    const sha256 = await sha256File(stored);
    if (sha256 !== file.sha256) {
      throw new Error(
        `The widget's stored file ${stored} has sha256 ${sha256}, the source ${file.sha256}`,
      );
    }
    await Deno.remove(stored);
    const { ms, startupMs, patches, retries } = result;
    return { ms, startupMs, patches, retries };
  } catch (error) {
    if (!errors.length) throw error;
    throw new Error(`${error instanceof Error ? error.message : error}; page errors: ${errors}`, {
      cause: error,
    });
  } finally {
    await context.close();
  }
}

export const FETCH_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>fetch PUT (bench/widget)</title></head><body><input type="file"></body></html>`;

/** One plain fetch PUT of the file to the bare server, from a page of its own origin. */
async function fetchUpload(
  ctx: Ctx,
  file: { path: string; size: number; sha256: string },
): Promise<number> {
  const context = await ctx.browser.newContext();
  try {
    const page: Page = await context.newPage();
    const pageUrl = `${ctx.bare.url}/__bench_page`;
    await page.route(
      pageUrl,
      (route) => route.fulfill({ status: 200, contentType: "text/html", body: FETCH_PAGE }),
    );
    await page.goto(pageUrl);
    // No interception while the body goes: the PUT must not pass through Playwright.
    await page.unrouteAll({ behavior: "wait" });
    await page.locator("input[type=file]").setInputFiles(file.path);
    const result = await within(
      page.evaluate(async (url) => {
        const picked = document.querySelector("input")!.files![0]!;
        const t0 = performance.now();
        const res = await fetch(url, { method: "PUT", body: picked });
        await res.arrayBuffer();
        return { ms: performance.now() - t0, status: res.status };
      }, `${ctx.bare.url}/upload`),
      `the fetch PUT of ${file.size} bytes`,
      ctx.timeoutMs,
    );
    if (result.status !== 204) throw new Error(`The bare server answered ${result.status}`);
    // The bare server also stores whatever else reached it (a favicon request): only the PUT
    // has the file's size.
    let found = false;
    for await (const entry of Deno.readDir(ctx.bareDir)) {
      const path = `${ctx.bareDir}/${entry.name}`;
      if (!found && (await Deno.stat(path)).size === file.size) {
        const sha256 = await sha256File(path);
        if (sha256 !== file.sha256) {
          throw new Error(`The bare server stored sha256 ${sha256}, the source ${file.sha256}`);
        }
        found = true;
      }
      await Deno.remove(path);
    }
    if (!found) throw new Error(`The bare server stored no file of ${file.size} bytes`);
    return result.ms;
  } finally {
    await context.close();
  }
}

/** Runs the comparison; cleans up everything it started or wrote, also on failure. */
export async function measureBrowser(options: BrowserOptions): Promise<BrowserFigures> {
  const scope = new Scope();
  try {
    return await measure(options, scope);
  } finally {
    const failures = await scope.close();
    for (const failure of failures) {
      console.error(`bench/widget: cleanup "${failure.what}" failed:`, failure.error);
    }
  }
}

async function measure(options: BrowserOptions, scope: Scope): Promise<BrowserFigures> {
  const { progress, fileMiB, rounds } = options;
  await Deno.mkdir(options.tmpDir, { recursive: true });
  const work = await Deno.makeTempDir({ dir: options.tmpDir, prefix: "widget-" });
  scope.defer("remove the scratch folder", () => Deno.remove(work, { recursive: true }));
  const dist = `${work}/dist`;
  const bareDir = `${work}/bare`;
  const dataDir = `${work}/data`;
  await Promise.all([dist, bareDir, dataDir].map((dir) => Deno.mkdir(dir)));
  await Deno.writeFile(`${dist}/h5-uploader.js`, options.widgetJs);

  const size = fileMiB * MiB;
  progress(`writing a ${fileMiB} MiB file ...`);
  const file = { path: `${work}/bench-${fileMiB}mib.mp4`, size, sha256: "" };
  file.sha256 = await makeFile(file.path, size);
  const warm = { path: `${work}/warm-up.mp4`, size: 8 * MiB, sha256: "" };
  warm.sha256 = await makeFile(warm.path, warm.size);

  const config = loadConfig({ H5_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1" });
  const server = await startServer(config, {
    quiet: true,
    extra: widgetRoutes({
      distDir: dist,
      demoDir: PAGE_DIR,
      allowedOrigins: config.allowedOrigins,
    }),
  });
  scope.defer("close the upload server", () => server.close());
  const bare = await startChild(scope, BARE, [bareDir]);
  const browser = await launch();
  scope.defer("close the browser", () => browser.close());

  const ctx: Ctx = {
    browser,
    server,
    uploadsDir: `${dataDir}/uploads`,
    bare,
    bareDir,
    // Generous: even 10 MB/s passes; a stuck upload fails instead of hanging the bench.
    timeoutMs: Math.max(60_000, (size / 10e6) * 1000),
  };

  // Warm-up (not counted): the first transfer of a fresh browser and server is slower.
  await fetchUpload(ctx, warm);
  await widgetUpload(ctx, warm, DEFAULT_CHUNK);

  const variants: Variant[] = [
    {
      label: "8 MiB PATCHes",
      chunkSize: DEFAULT_CHUNK,
      samples: [],
      best: 0,
      startupMs: [],
      patches: 0,
      retries: 0,
    },
    {
      label: "one PATCH (default)",
      chunkSize: size,
      samples: [],
      best: 0,
      startupMs: [],
      patches: 0,
      retries: 0,
    },
  ];
  const fetchSamples: number[] = [];
  type Job = () => Promise<void>;
  const jobs: Job[] = [
    async () => {
      const ms = await fetchUpload(ctx, file);
      fetchSamples.push(round1(mbps(size, ms)));
      progress(`  fetch PUT to the bare server: ${fetchSamples.at(-1)} MB/s`);
    },
    ...variants.map((variant): Job => async () => {
      const run = await widgetUpload(ctx, file, variant.chunkSize);
      variant.samples.push(round1(mbps(size, run.ms)));
      variant.startupMs.push(Math.round(run.startupMs));
      variant.patches = run.patches;
      variant.retries += run.retries;
      progress(
        `  widget, ${variant.label}: ${variant.samples.at(-1)} MB/s ` +
          `(first PATCH after ${variant.startupMs.at(-1)} ms, ${run.patches} PATCHes` +
          (run.retries ? `, ${run.retries} retries)` : ")"),
      );
    }),
  ];
  for (let r = 0; r < rounds; r++) {
    progress(`browser round ${r + 1}/${rounds} (${fileMiB} MiB file)`);
    // Rotate the order so no one always goes first.
    for (let j = 0; j < jobs.length; j++) await jobs[(j + r) % jobs.length]!();
  }

  for (const variant of variants) variant.best = Math.max(...variant.samples);
  const better = variants.reduce((a, b) => (b.best > a.best ? b : a));
  const fetchMBps = Math.max(...fetchSamples);
  return {
    widgetMBps: better.best,
    fetchMBps,
    ratioToFetch: Math.round((better.best / fetchMBps) * 1000) / 1000,
    fileMiB,
    chunkSize: better.chunkSize,
    rounds,
    fetchSamples,
    variants,
    method: "headless Chromium (playwright-core); widget: pick (setInputFiles) to " +
      "h5-upload-complete against the in-process server, stored sha256 checked; fetch: " +
      "fetch(PUT, body: the picked File) to bench/bare_server.ts from its own origin; " +
      "same file on disk; best of the rounds; MB/s = 1e6 bytes/s",
  };
}
