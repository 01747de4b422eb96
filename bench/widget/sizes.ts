/**
 * Bundle sizes: `<h5-uploader>` as `widget/build.ts` bundles it, beside Uppy (core +
 * Dashboard + tus), FilePond and Dropzone bundled the same way.
 *
 * "The same way" is the widget's own esbuild settings: one entry, `--bundle --minify
 * --format=esm --platform=browser --target=es2022`, JS only, license comments kept at the
 * end of the file. Every size is the minified bytes and `gzip -9` of them (node:zlib,
 * level 9, for all alike).
 *
 * CSS: the widget carries its CSS inside the JS (Lit styles), the peers ship a separate
 * stylesheet. So each peer also gets `gzipWithCssBytes`: its JS gzip plus the gzip of its
 * stylesheets bundled and minified by esbuild (two files, as a page would load them).
 */
import * as esbuild from "esbuild";
import { gzipSync } from "node:zlib";
import { bundle } from "../../widget/build.ts";

const HERE = new URL("./", import.meta.url);
const PEERS = new URL("peers/", HERE).pathname;
const WIDGET_ENTRY = new URL("../../widget/mod.ts", HERE).pathname;

export const PEER_NAMES = ["uppy", "filepond", "dropzone"] as const;
export type PeerName = typeof PEER_NAMES[number];

export interface PeerSize {
  /** Version(s) measured, e.g. `@uppy/core@6.3.1 …`. */
  versions: string;
  minBytes: number;
  gzipBytes: number;
  /** Minified CSS of the peer's stylesheets. */
  cssMinBytes: number;
  cssGzipBytes: number;
  /** `gzipBytes + cssGzipBytes`: JS and CSS as a page loads them. */
  gzipWithCssBytes: number;
}

export interface BundleSizes {
  /** The widget's bundle, CSS included. */
  minBytes: number;
  gzipBytes: number;
  /** How the sizes were made (for the reader of latest.json). */
  method: string;
  peers: Record<PeerName, PeerSize>;
}

/**
 * Each peer set up as an uploader like `<h5-uploader>` (UI + uploads to a server), and the
 * stylesheets its docs say to add. Fed to esbuild on stdin, resolved in bench/widget/peers
 * (kept out of .js files so `deno check bench` does not try to resolve them).
 */
const ENTRIES: Record<PeerName, { js: string; css: string }> = {
  uppy: {
    js: `import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import Tus from "@uppy/tus";
new Uppy().use(Dashboard, { inline: true, target: "#uploader" }).use(Tus, { endpoint: "/files/" });`,
    css: `@import "@uppy/core/css/style.min.css";
@import "@uppy/dashboard/css/style.min.css";`,
  },
  filepond: {
    js: `import { create } from "filepond";
create(document.querySelector("input[type=file]"), { server: "/upload" });`,
    css: `@import "filepond/dist/filepond.min.css";`,
  },
  dropzone: {
    // dropzone.css is the full theme (basic.css would be the bare alternative).
    js: `import Dropzone from "dropzone";
new Dropzone("#uploader", { url: "/upload" });`,
    css: `@import "dropzone/dist/dropzone.css";`,
  },
};

/** The packages each peer's entry imports (for the versions in the figures). */
const PACKAGES: Record<PeerName, string[]> = {
  uppy: ["@uppy/core", "@uppy/dashboard", "@uppy/tus"],
  filepond: ["filepond"],
  dropzone: ["dropzone"],
};

/** `gzip -9` size. */
export const gzip9 = (bytes: Uint8Array): number => gzipSync(bytes, { level: 9 }).byteLength;

/** The same settings as `widget/build.ts` (minus its widget-only plugins and source map). */
const SHARED: esbuild.BuildOptions = {
  bundle: true,
  minify: true,
  platform: "browser",
  target: "es2022",
  legalComments: "eof",
  write: false,
  logLevel: "error",
  absWorkingDir: PEERS,
  define: { "process.env.NODE_ENV": '"production"' },
};

async function build(peer: PeerName, kind: "js" | "css"): Promise<Uint8Array> {
  const result = await esbuild.build({
    ...SHARED,
    stdin: { contents: ENTRIES[peer][kind], resolveDir: PEERS, loader: kind, sourcefile: peer },
    ...(kind === "js" ? { format: "esm" } : {}),
    outfile: `${PEERS}out/${peer}.${kind}`,
  });
  const out = result.outputFiles?.[0];
  if (!out) throw new Error(`esbuild made no ${kind} output for ${peer}`);
  return out.contents;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** `npm ci` in bench/widget/peers when its node_modules is missing (pinned by the lock). */
export async function ensurePeers(progress: (message: string) => void): Promise<void> {
  if (await exists(`${PEERS}node_modules/.package-lock.json`)) return;
  progress("installing the peer widgets (npm ci --prefix bench/widget/peers) ...");
  const { success, stdout, stderr } = await new Deno.Command("npm", {
    args: ["ci", "--prefix", PEERS, "--ignore-scripts", "--no-audit", "--no-fund"],
    stdin: "null",
  }).output();
  if (!success) {
    const text = new TextDecoder();
    throw new Error(
      `npm ci --prefix bench/widget/peers failed:\n${text.decode(stdout)}${text.decode(stderr)}`,
    );
  }
}

async function versionsOf(peer: PeerName): Promise<string> {
  const versions = await Promise.all(PACKAGES[peer].map(async (name) => {
    const pkg = JSON.parse(
      await Deno.readTextFile(`${PEERS}node_modules/${name}/package.json`),
    ) as { version: string };
    return `${name}@${pkg.version}`;
  }));
  return versions.join(" ");
}

async function peerSize(peer: PeerName): Promise<PeerSize> {
  const js = await build(peer, "js");
  const css = await build(peer, "css");
  const gzipBytes = gzip9(js);
  const cssGzipBytes = gzip9(css);
  return {
    versions: await versionsOf(peer),
    minBytes: js.byteLength,
    gzipBytes,
    cssMinBytes: css.byteLength,
    cssGzipBytes,
    gzipWithCssBytes: gzipBytes + cssGzipBytes,
  };
}

/**
 * The widget's bundle as `widget/build.ts` makes it (from the sources, not `dist/`, so a
 * bundle over budget is still measured) and the three peers. Returns the widget's bytes too,
 * for the browser part to serve.
 */
export async function measureSizes(
  progress: (message: string) => void,
): Promise<{ sizes: BundleSizes; widgetJs: Uint8Array }> {
  await ensurePeers(progress);
  const peers = {} as Record<PeerName, PeerSize>;
  try {
    for (const peer of PEER_NAMES) {
      peers[peer] = await peerSize(peer);
      progress(
        `${peer}: ${peers[peer].minBytes} B min, ${peers[peer].gzipBytes} B gzip ` +
          `(+ CSS: ${peers[peer].gzipWithCssBytes} B)`,
      );
    }
  } finally {
    await esbuild.stop();
  }
  // bundle() stops esbuild itself when done.
  const widget = await bundle(WIDGET_ENTRY);
  const sizes: BundleSizes = {
    minBytes: widget.js.byteLength,
    gzipBytes: gzip9(widget.js),
    method: "esbuild --bundle --minify --format=esm --platform=browser --target=es2022 " +
      "(widget: widget/build.ts bundle()); gzip -9 (node:zlib level 9). Widget CSS is inside " +
      "its JS; peers' gzipBytes are JS only, gzipWithCssBytes adds their minified CSS gzipped.",
    peers,
  };
  progress(`h5-uploader: ${sizes.minBytes} B min, ${sizes.gzipBytes} B gzip -9 (CSS inside)`);
  return { sizes, widgetJs: widget.js };
}
