/**
 * Part 5 of `deno task bench`, the widget: its min+gzip size beside Uppy (core + Dashboard
 * + tus), FilePond and Dropzone bundled the same way (`sizes.ts`), and its upload
 * throughput in headless Chromium against a plain fetch PUT of the same file to the bare
 * limit server (`browser.ts`).
 *
 * Targets (reported, not enforced): at most 30 KB min+gzip; at least 0.8 of the fetch PUT.
 * The 256 MiB file in both modes (a smaller one would mostly measure the widget's
 * fixed start-up, ~0.1 s); quick: 1 round (about 12 s), full: 3 rounds (about 30 s).
 * Where the widget's upload time goes: `deno run -A bench/widget/profile.ts`.
 */
import type { BenchPart, BenchRow } from "../lib/part.ts";
import { measureBrowser } from "./browser.ts";
import { measureSizes, PEER_NAMES } from "./sizes.ts";

/** The budget: 30 KB min+gzip. */
export const SIZE_TARGET_BYTES = 30 * 1024;
/** The target: the widget at 0.8 of a plain fetch PUT or better. */
export const RATIO_TARGET = 0.8;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export const run: BenchPart = async (context) => {
  const fileMiB = 256;
  const rounds = context.quick ? 1 : 3;

  context.progress("widget: bundle sizes (esbuild, gzip -9) ...");
  const { sizes, widgetJs } = await measureSizes(context.progress);

  context.progress(`widget: browser throughput, ${fileMiB} MiB, ${rounds} round(s) ...`);
  const browser = await measureBrowser({
    fileMiB,
    rounds,
    tmpDir: context.tmpDir,
    widgetJs,
    progress: context.progress,
  });

  const rows: BenchRow[] = [
    {
      group: "widget size",
      name: "<h5-uploader> min+gzip (CSS inside)",
      value: `${kb(sizes.gzipBytes)} (${kb(sizes.minBytes)} min)`,
      target: `≤ ${kb(SIZE_TARGET_BYTES)}`,
      met: sizes.gzipBytes <= SIZE_TARGET_BYTES,
    },
    ...PEER_NAMES.map((name): BenchRow => {
      const peer = sizes.peers[name];
      return {
        group: "widget size",
        name: `${peer.versions} min+gzip (JS; + CSS)`,
        value: `${kb(peer.gzipBytes)}; ${kb(peer.gzipWithCssBytes)} (${kb(peer.minBytes)} min)`,
      };
    }),
    {
      group: "widget throughput",
      name: `plain fetch PUT to the bare server, ${fileMiB} MiB`,
      value: `${browser.fetchMBps.toFixed(0)} MB/s`,
    },
    ...browser.variants.map((variant): BenchRow => ({
      group: "widget throughput",
      name: `<h5-uploader>, ${variant.label}, ${fileMiB} MiB`,
      value: `${variant.best.toFixed(0)} MB/s`,
    })),
    {
      group: "widget throughput",
      name: "<h5-uploader> / fetch PUT",
      value: browser.ratioToFetch.toFixed(2),
      target: `≥ ${RATIO_TARGET}`,
      met: browser.ratioToFetch >= RATIO_TARGET,
    },
  ];
  return { figures: { bundle: sizes, browser }, rows };
};
