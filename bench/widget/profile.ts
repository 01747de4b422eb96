/**
 * Where the widget's browser upload time goes (a diagnostic, not part of the bench):
 * the same file sent from headless Chromium in steps from the plain fetch PUT to the widget,
 * each the best of `--rounds`, MB/s = 1e6 bytes/s.
 *
 *   deno run -A bench/widget/profile.ts [--mib=256] [--rounds=2] [--inproc]
 *
 * Our server runs as its own process (bench/widget/serve.ts), or with `--inproc` in this
 * one, beside Playwright's client.
 *
 * 1-3: to the bare server (fetch, XHR, XHR with an upload progress listener); 3a: XHR of
 *      `file.slice(0, size)` instead of the File; 3b: to the bare server with BARE_SYNC=1;
 * 4-7: raw tus to our server from the widget's page (session and creation first, only the
 *      PATCHes timed): one PATCH or 8 MiB PATCHes, by fetch or by XHR with progress, each
 *      body a `file.slice()` as the widget sends it; 7b: one PATCH of the File itself;
 * 8-9: the widget itself (pick to h5-upload-complete), with its requests' timing.
 *
 * Also the CPU seconds each process used per upload (Chromium's by process type, from
 * /proc), the evidence for where a 2-core machine spends its time.
 */
import type { Browser, Page } from "playwright-core";
import { loadConfig } from "../../server/config.ts";
import { startServer } from "../../server/main.ts";
import { widgetRoutes } from "../../server/routes/widget.ts";
import { launch } from "../../tests/browser/chromium.ts";
import { Scope } from "../../tests/support/scope.ts";
import { type BenchGlobal, FETCH_PAGE, INIT, makeFile, startChild } from "./browser.ts";
import { measureSizes } from "./sizes.ts";

const MiB = 2 ** 20;
const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const fileMiB = Number(args.get("mib") ?? 256);
const rounds = Number(args.get("rounds") ?? 2);
const inproc = args.has("inproc");
const size = fileMiB * MiB;
const mbps = (ms: number) => Math.round(((size / 1e6) / (ms / 1000)) * 10) / 10;

const scope = new Scope();
try {
  const tmp = new URL("../tmp/", import.meta.url).pathname;
  await Deno.mkdir(tmp, { recursive: true });
  const work = await Deno.makeTempDir({ dir: tmp, prefix: "widget-profile-" });
  scope.defer("remove the scratch folder", () => Deno.remove(work, { recursive: true }));
  for (const dir of ["dist", "bare", "data"]) await Deno.mkdir(`${work}/${dir}`);
  const { widgetJs } = await measureSizes(() => {});
  await Deno.writeFile(`${work}/dist/h5-uploader.js`, widgetJs);
  const path = `${work}/profile.mp4`;
  await makeFile(path, size);

  let server: { url: string };
  let ourPid = -1;
  if (inproc) {
    const config = loadConfig({ H5_DATA_DIR: `${work}/data`, PORT: "0", HOST: "127.0.0.1" });
    const running = await startServer(config, {
      quiet: true,
      extra: widgetRoutes({
        distDir: `${work}/dist`,
        demoDir: new URL("page/", import.meta.url),
        allowedOrigins: config.allowedOrigins,
      }),
    });
    scope.defer("close the server", () => running.close());
    server = running;
  } else {
    const serve = new URL("serve.ts", import.meta.url).pathname;
    const child = await startChild(scope, serve, [`${work}/data`, `${work}/dist`]);
    server = child;
    ourPid = child.pid;
  }
  const bareScript = new URL("../bare_server.ts", import.meta.url).pathname;
  const bare = await startChild(scope, bareScript, [`${work}/bare`]);
  // The same with one fdatasync before answering: what durability alone costs.
  const bareSync = await startChild(scope, bareScript, [`${work}/bare`], { BARE_SYNC: "1" });
  const browser: Browser = await launch();
  scope.defer("close the browser", () => browser.close());

  const emptyBare = async () => {
    for await (const e of Deno.readDir(`${work}/bare`)) await Deno.remove(`${work}/bare/${e.name}`);
  };
  const emptyUploads = async () => {
    await Deno.remove(`${work}/data/uploads`, { recursive: true });
    await Deno.mkdir(`${work}/data/uploads`);
  };

  /** A page on the bare server's origin with a picked file. */
  const barePage = async (origin = bare.url): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    await page.route(
      `${origin}/__page`,
      (r) => r.fulfill({ status: 200, contentType: "text/html", body: FETCH_PAGE }),
    );
    await page.goto(`${origin}/__page`);
    await page.unrouteAll({ behavior: "wait" });
    await page.locator("input[type=file]").setInputFiles(path);
    return page;
  };

  /** The widget's page on our server, plus a plain file input with the file picked. */
  const ourPage = async (): Promise<Page> => {
    const context = await browser.newContext();
    await context.addInitScript(INIT);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.evaluate(() => {
      const input = document.createElement("input");
      input.type = "file";
      input.id = "raw";
      document.body.append(input);
    });
    await page.locator("#raw").setInputFiles(path);
    return page;
  };

  /** In the page: PUT the picked file to `url` by fetch or XHR (optionally with progress). */
  /** `sliced`: send `file.slice(0, size)` (a Blob) instead of the File itself. */
  const putFile = (
    page: Page,
    url: string,
    how: "fetch" | "xhr" | "xhr+progress",
    sliced = false,
  ) =>
    page.evaluate(async ([url, how, sliced]) => {
      const picked = document.querySelector("input")!.files![0]!;
      const file = sliced ? picked.slice(0, picked.size) : picked;
      const t0 = performance.now();
      if (how === "fetch") {
        await (await fetch(url, { method: "PUT", body: file })).arrayBuffer();
      } else {
        await new Promise<void>((resolve, reject) => {
          const xhr = new XMLHttpRequest();
          xhr.open("PUT", url);
          let events = 0;
          if (how === "xhr+progress") xhr.upload.onprogress = () => events++;
          xhr.onload = () => resolve();
          xhr.onerror = () => reject(new Error("xhr failed"));
          xhr.send(file);
        });
      }
      return performance.now() - t0;
    }, [url, how, sliced] as const);

  /** In the page: a session, a tus upload, then the file in PATCHes of `chunk` bytes. */
  /** `whole`: a PATCH of the whole file sends the File itself, not `file.slice(0, size)`. */
  const tusFile = (page: Page, chunk: number, how: "fetch" | "xhr+progress", whole = false) =>
    page.evaluate(async ([chunk, how, whole]) => {
      const file = (document.querySelector("#raw") as HTMLInputElement).files![0]!;
      const session = await (await fetch("/api/sessions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ category: "personal", clientType: "web" }),
      })).json() as { sessionId: string; token: string; uploadUrl: string };
      const b64 = (s: string) => btoa(s);
      const auth = { "Tus-Resumable": "1.0.0", Authorization: `Bearer ${session.token}` };
      const created = await fetch(session.uploadUrl, {
        method: "POST",
        headers: {
          ...auth,
          "Upload-Length": String(file.size),
          "Upload-Metadata": `sessionId ${b64(session.sessionId)},filename ${
            b64(file.name)
          },filetype ${b64("video/mp4")},category ${b64("personal")}`,
        },
      });
      if (created.status !== 201) throw new Error(`create: ${created.status}`);
      const url = new URL(created.headers.get("Location")!, session.uploadUrl).href;
      const t0 = performance.now();
      for (let offset = 0; offset < file.size;) {
        const end = Math.min(file.size, offset + chunk);
        const body = whole && offset === 0 && end === file.size ? file : file.slice(offset, end);
        const headers = {
          ...auth,
          "Upload-Offset": String(offset),
          "Content-Type": "application/offset+octet-stream",
        };
        if (how === "fetch") {
          const res = await fetch(url, { method: "PATCH", headers, body });
          if (res.status !== 204) throw new Error(`PATCH: ${res.status} ${await res.text()}`);
          offset = Number(res.headers.get("Upload-Offset"));
        } else {
          offset = await new Promise<number>((resolve, reject) => {
            const xhr = new XMLHttpRequest();
            xhr.open("PATCH", url);
            for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
            xhr.upload.onprogress = () => {};
            xhr.onload = () =>
              xhr.status === 204
                ? resolve(Number(xhr.getResponseHeader("Upload-Offset")))
                : reject(new Error(`PATCH ${xhr.status}`));
            xhr.onerror = () => reject(new Error("xhr failed"));
            xhr.send(body);
          });
        }
      }
      return performance.now() - t0;
    }, [chunk, how, whole] as const);

  /** The widget: pick to h5-upload-complete, and its requests relative to the pick. */
  const widget = async (page: Page, chunk: number) => {
    await page.locator("h5-uploader").evaluate(
      (el, c) => el.setAttribute("chunk-size", `${c}`),
      chunk,
    );
    await page.evaluate(() => {
      performance.setResourceTimingBufferSize(1000);
      (globalThis as unknown as BenchGlobal).__bench.t0 = performance.now();
    });
    await page.locator("h5-uploader input[type=file]").setInputFiles(path);
    return await page.evaluate(async () => {
      const bench = (globalThis as unknown as BenchGlobal).__bench;
      const { t } = await bench.done;
      const requests = (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
        .filter((e) => e.startTime >= bench.t0)
        .map((e) =>
          `${(e.startTime - bench.t0).toFixed(0)}..${
            (e.responseEnd - bench.t0).toFixed(0)
          } ms ${e.initiatorType} ${new URL(e.name).pathname.slice(0, 40)}`
        );
      requests.push(`${bench.progress} h5-upload-progress events`);
      return { ms: t - bench.t0, requests };
    });
  };

  const roles = (pid: number, cmdline: string): string | null => {
    if (pid === Deno.pid) return inproc ? "this (Playwright + server)" : "this (Playwright)";
    if (pid === ourPid) return "our server";
    if (pid === bare.pid || pid === bareSync.pid) return "bare server";
    if (!/chrom/.test(cmdline.split("\0")[0] ?? "")) return null;
    if (cmdline.includes("NetworkService")) return "chromium network";
    const type = /--type=([\w-]+)/.exec(cmdline)?.[1];
    return `chromium ${type ?? "browser"}`;
  };
  /** CPU seconds (user + system) so far, by role. */
  const cpu = (): Map<string, number> => {
    const by = new Map<string, number>();
    for (const entry of Deno.readDirSync("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid)) continue;
      try {
        const role = roles(pid, Deno.readTextFileSync(`/proc/${pid}/cmdline`));
        if (!role) continue;
        const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
        by.set(role, (by.get(role) ?? 0) + ticks / 100);
      } catch {
        // exited meanwhile
      }
    }
    return by;
  };
  const results: Record<string, number[]> = {};
  const cpuOf: Record<string, Map<string, number>> = {};
  const record = async (name: string, run: () => Promise<number>) => {
    const before = cpu();
    const ms = await run();
    const after = cpu();
    const used = (cpuOf[name] ??= new Map());
    for (const [role, seconds] of after) {
      used.set(role, (used.get(role) ?? 0) + (seconds - (before.get(role) ?? 0)) / rounds);
    }
    (results[name] ??= []).push(mbps(ms));
    console.error(`  ${name}: ${mbps(ms)} MB/s (${ms.toFixed(0)} ms)`);
  };
  let lastRequests: Record<string, string[]> = {};
  for (let r = 0; r < rounds; r++) {
    console.error(`round ${r + 1}/${rounds}, ${fileMiB} MiB`);
    for (const how of ["fetch", "xhr", "xhr+progress"] as const) {
      const page = await barePage();
      await record(`1-3 bare PUT, ${how}`, () => putFile(page, `${bare.url}/put`, how));
      await page.context().close();
      await emptyBare();
    }
    {
      const page = await barePage();
      await record(
        "3a bare PUT, xhr+progress, file.slice(0, size)",
        () => putFile(page, `${bare.url}/put`, "xhr+progress", true),
      );
      await page.context().close();
      await emptyBare();
    }
    {
      const page = await barePage(bareSync.url);
      await record(
        "3b bare+fdatasync PUT, xhr+progress",
        () => putFile(page, `${bareSync.url}/put`, "xhr+progress"),
      );
      await page.context().close();
      await emptyBare();
    }
    for (const how of ["fetch", "xhr+progress"] as const) {
      for (const chunk of [size, 8 * MiB]) {
        const page = await ourPage();
        const label = chunk === size ? "one PATCH" : "8 MiB PATCHes";
        await record(`4-7 our tus, ${how}, ${label}`, () => tusFile(page, chunk, how));
        await page.context().close();
        await emptyUploads();
      }
    }
    {
      const page = await ourPage();
      await record(
        "7b our tus, xhr+progress, one PATCH of the File",
        () => tusFile(page, size, "xhr+progress", true),
      );
      await page.context().close();
      await emptyUploads();
    }
    lastRequests = {};
    for (const chunk of [size, 8 * MiB]) {
      const page = await ourPage();
      const label = chunk === size ? "one PATCH" : "8 MiB PATCHes";
      await record(`8-9 widget, ${label}`, async () => {
        const { ms, requests } = await widget(page, chunk);
        lastRequests[label] = requests;
        return ms;
      });
      await page.context().close();
      await emptyUploads();
    }
  }
  console.log(
    `\n${fileMiB} MiB, our server ${inproc ? "in-process" : "a child process"}, ` +
      `best of ${rounds} (all rounds), MB/s:`,
  );
  for (const [name, samples] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(42)} ${Math.max(...samples).toFixed(1).padStart(7)}  [${samples}]`,
    );
  }
  console.log("\nCPU seconds per upload (mean of the rounds), by process:");
  for (const [name, used] of Object.entries(cpuOf)) {
    const parts = [...used].filter(([, s]) => s >= 0.01).sort((a, b) => b[1] - a[1]);
    console.log(`  ${name}: ${parts.map(([r, s]) => `${r} ${s.toFixed(2)}`).join(", ")}`);
  }
  for (const [label, requests] of Object.entries(lastRequests)) {
    console.log(`\nwidget, ${label}, last round: requests after the pick`);
    for (const line of requests.slice(0, 12)) console.log(`  ${line}`);
    if (requests.length > 13) console.log(`  ... ${requests.length - 13} more requests`);
    if (requests.length > 12) console.log(`  ${requests.at(-1)}`);
  }
} finally {
  for (const failure of await scope.close()) console.error(failure.what, failure.error);
}
