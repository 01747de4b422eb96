/**
 * `deno task build`: bundles `widget/mod.ts` into one minified ESM file with Lit and
 * socket.io-client inside, `dist/h5-uploader.js` (+ `.map`, + `.d.ts`), and writes
 * `custom-elements.json`. Fails when an import is left or when the file is over budget.
 *
 *   deno run -A widget/build.ts [--if-missing] [--analyze]
 *
 * `--if-missing` does nothing when the bundle is newer than every file under widget/ and
 * protocol/ (what `deno task serve` runs first). `--analyze` prints bytes per package.
 */
import * as esbuild from "esbuild";
import { denoInfo, linkPackages, npmClosure } from "./build/npm_packages.ts";
import { minifyTemplates } from "./build/minify_templates.ts";
import { buildManifest, denoDoc } from "./build/manifest.ts";
import { slimSocketIo } from "./build/slim_socket_io.ts";
import { DOM_EVENTS } from "./events.ts";

/** Budget of the bundle, minified and gzipped (the limit). */
export const BUDGET_GZIP = 30 * 1024;

const root = new URL("../", import.meta.url);
const path = (relative: string) => new URL(relative, root).pathname;
const DIST = path("dist/");
const OUT = `${DIST}h5-uploader.js`;

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for await (const entry of Deno.readDir(dir)) {
    const full = `${dir}/${entry.name}`;
    const time = entry.isDirectory
      ? await newestMtime(full)
      : (await Deno.stat(full)).mtime?.getTime() ?? Infinity;
    newest = Math.max(newest, time);
  }
  return newest;
}

/** The bundle exists and is newer than every source it is made from. */
async function upToDate(): Promise<boolean> {
  try {
    const built = (await Deno.stat(OUT)).mtime?.getTime() ?? 0;
    const sources = Math.max(
      await newestMtime(path("widget")),
      await newestMtime(path("protocol")),
    );
    return built > sources;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** Import or export statements left in the output that name a module (there must be none). */
export function leftoverImports(code: string): string[] {
  const statics = code.matchAll(
    /(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{}\s,]*from\s*)?["']([^"']+)["']/g,
  );
  const dynamics = code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g);
  return [...statics, ...dynamics].map((m) => m[1]!);
}

/** Lit templates lose their indentation before esbuild sees them. */
const templatePlugin: esbuild.Plugin = {
  name: "minify-lit-templates",
  setup(build) {
    build.onLoad({ filter: /\/widget\/.*\.ts$/ }, async ({ path }) => {
      const source = await Deno.readTextFile(path);
      const uses = !path.includes("/widget/engine/") && /from "lit"/.test(source);
      return { contents: uses ? minifyTemplates(source) : source, loader: "ts" };
    });
  },
};

export interface Bundle {
  js: Uint8Array;
  /** The source map (its `sources` point into widget/ and the npm cache). */
  map: Uint8Array;
  gzip: number;
  /** Input file → bytes in the output. */
  inputs: Record<string, { bytesInOutput: number }>;
}

/**
 * Bundles one entry the way the widget ships: one minified ESM file, slim socket.io,
 * minified templates, every import inlined (throws if one is left).
 */
export async function bundle(entry: string, outfile = OUT): Promise<Bundle> {
  const temp = await Deno.makeTempDir({ prefix: "h5-uploader-build-" });
  try {
    const nodeModules = await linkPackages(npmClosure(await denoInfo(entry)), temp);
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      sourcemap: "linked",
      sourcesContent: true,
      legalComments: "eof",
      nodePaths: [nodeModules],
      outfile,
      write: false,
      metafile: true,
      logLevel: "warning",
      plugins: [slimSocketIo(), templatePlugin],
    });
    const js = result.outputFiles.find((f) => f.path.endsWith(".js"))!;
    const map = result.outputFiles.find((f) => f.path.endsWith(".map"))!;
    const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint)!;
    const left = [...output.imports.map((i) => i.path), ...leftoverImports(js.text)];
    if (left.length) {
      throw new Error(`The bundle must be self-contained but imports ${left.join(", ")}`);
    }
    return {
      js: js.contents,
      map: map.contents,
      gzip: await gzipSize(js.contents),
      inputs: output.inputs,
    };
  } finally {
    await esbuild.stop();
    await Deno.remove(temp, { recursive: true });
  }
}

/** The whole build: bundle (within budget), source map, declarations, manifest. */
export async function build(options: { analyze?: boolean } = {}): Promise<void> {
  const { js, map, gzip, inputs } = await bundle(path("widget/mod.ts"));
  console.log(
    `dist/h5-uploader.js: ${kb(js.length)} min, ${kb(gzip)} min+gzip ` +
      `(budget ${kb(BUDGET_GZIP)}; ${js.length} / ${gzip} bytes)`,
  );
  if (options.analyze) analyze(inputs, js.length, gzip);
  if (gzip > BUDGET_GZIP) {
    throw new Error(
      `The bundle is ${kb(gzip)} min+gzip, over the ${kb(BUDGET_GZIP)} budget by ${
        gzip - BUDGET_GZIP
      } bytes`,
    );
  }
  await Deno.mkdir(DIST, { recursive: true });
  await Deno.writeFile(`${OUT}.map`, map);
  await Deno.writeTextFile(`${DIST}h5-uploader.d.ts`, await declarations());
  await Deno.writeTextFile(path("custom-elements.json"), await manifestJson());
  // Last, so an interrupted build never leaves a fresh-looking bundle (--if-missing).
  await Deno.writeFile(OUT, js);
}

/** custom-elements.json, generated from the element's source. */
export async function manifestJson(): Promise<string> {
  const manifest = buildManifest(await denoDoc(path("widget/h5_uploader.ts")), {
    module: "widget/h5_uploader.ts",
    className: "H5Uploader",
    tagName: "h5-uploader",
    definedIn: "widget/mod.ts",
  });
  return JSON.stringify(manifest, null, 2) + "\n";
}

/**
 * `widget/h5_uploader.d.ts` plus the global tag and event maps (kept out of the source
 * file, where they would clash with events.ts's own augmentation).
 */
export async function declarations(): Promise<string> {
  const source = await Deno.readTextFile(path("widget/h5_uploader.d.ts"));
  const events = Object.values(DOM_EVENTS)
    .map((event) => `    "${event.eventName}": ${event.name};`)
    .join("\n");
  return `${source}
declare global {
  interface HTMLElementTagNameMap {
    "h5-uploader": H5Uploader;
  }
  interface GlobalEventHandlersEventMap {
${events}
  }
}
`;
}

/** Bytes per package in the output; the gzip share is estimated by proportion. */
function analyze(
  inputs: Record<string, { bytesInOutput: number }>,
  total: number,
  gzip: number,
) {
  const parts = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(inputs)) {
    const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)|node_modules\/((?:@[^/]+\/)?[^/]+)/
      .exec(file);
    const name = npm
      ? (npm[1] ?? npm[2])!
      : file.includes("widget/socket_io_client")
      ? "socket.io (widget/socket_io_client.ts)"
      : file.includes("widget/engine/")
      ? "widget/engine"
      : "widget";
    parts.set(name, (parts.get(name) ?? 0) + bytesInOutput);
  }
  for (const [name, bytes] of [...parts].sort((a, b) => b[1] - a[1])) {
    console.log(
      `  ${name.padEnd(30)} ${kb(bytes).padStart(8)} min  ~${kb((bytes / total) * gzip)} gzip`,
    );
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--if-missing") && await upToDate()) {
    console.log("dist/h5-uploader.js is up to date");
  } else {
    try {
      await build({ analyze: Deno.args.includes("--analyze") });
    } catch (error) {
      console.error(`Cannot build the widget: ${error instanceof Error ? error.message : error}`);
      Deno.exit(1);
    }
  }
}
