/**
 * `deno task bench [--quick]`: every measurement of the project in one run, against the
 * limit and the peers measured in the same run. Writes bench/results/latest.json and
 * bench/results/chart.svg and prints a markdown table. `--only=upload,realtime` runs those
 * parts and keeps the other parts' figures and rows of the previous latest.json (each part's
 * date is in `partDates`), so one part can be re-measured without the others.
 */
import { renderChart } from "./lib/chart.ts";
import type { BenchPart, BenchPartResult, BenchRow } from "./lib/part.ts";

const quick = Deno.args.includes("--quick");
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const started = performance.now();
const tmpDir = new URL("./tmp", import.meta.url).pathname;
await Deno.mkdir(tmpDir, { recursive: true });

/** Each part's rows start with this group prefix; figure keys per part. */
const owned: Record<string, { rows: string; figures: string[] }> = {
  upload: { rows: "upload", figures: ["upload"] },
  realtime: { rows: "real time", figures: ["realtime"] },
  widget: { rows: "widget", figures: ["bundle", "browser"] },
};

const parts: Record<string, () => Promise<{ run: BenchPart }>> = {
  upload: () => import("./upload/mod.ts"),
  realtime: () => import("./realtime/mod.ts"),
  widget: () => import("./widget/mod.ts"),
};

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`;
const progress = (part: string) => (message: string) =>
  console.error(`[${elapsed().padStart(5)}] ${part}: ${message}`);

async function version(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim().split("\n")[0] ?? "";
  } catch {
    return "not found";
  }
}

const results: Record<string, BenchPartResult> = {};
let failed = false;
for (const [name, load] of Object.entries(parts)) {
  if (only && !only.includes(name)) continue;
  progress(name)("starting");
  try {
    const { run } = await load();
    results[name] = await run({ quick, tmpDir, progress: progress(name) });
    progress(name)("done");
  } catch (error) {
    // A lost or corrupted byte, or a part that cannot run, fails the whole bench loudly.
    console.error(`bench part "${name}" failed:`, error);
    failed = true;
  }
}

const memInfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
const figures = Object.assign({}, ...Object.values(results).map((r) => r.figures));
const rows: BenchRow[] = Object.values(results).flatMap((r) => r.rows);
const chart = Object.values(results).flatMap((r) => r.chart ?? []);
const date = new Date().toISOString();
const machine = {
  cpus: navigator.hardwareConcurrency,
  memoryGiB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(memInfo)?.[1] ?? 0) / 2 ** 20),
  os: `${Deno.build.os} ${Deno.build.arch}`,
};
const versions = {
  deno: Deno.version.deno,
  node: await version("node", ["--version"]),
  // The upload part's client: curl carries the bytes.
  curl: await version("curl", ["--version"]),
  chromium: await version("/usr/bin/chromium", ["--version"]),
};

console.log(
  `\n## Benchmark ${date.slice(0, 10)} (${
    quick ? "quick" : "full"
  }, ${machine.cpus} cores, ${machine.memoryGiB} GiB)\n`,
);
console.log("| group | measure | value | target | met |");
console.log("| --- | --- | --- | --- | --- |");
for (const row of rows) {
  const met = row.met === undefined ? "" : row.met ? "yes" : "**no**";
  console.log(`| ${row.group} | ${row.name} | ${row.value} | ${row.target ?? ""} | ${met} |`);
}

if (!failed || Object.keys(results).length > 0) {
  const out = new URL("./results/", import.meta.url);
  await Deno.mkdir(out, { recursive: true });
  // Parts not run this time keep what the previous file says about them.
  type Previous = { date?: string; rows?: BenchRow[]; partDates?: Record<string, string> };
  const previous: Previous & Record<string, unknown> = only
    ? await Deno.readTextFile(new URL("latest.json", out)).then(JSON.parse).catch(() => ({}))
    : {};
  const kept = Object.keys(owned).filter((name) => !(name in results));
  const keptFigures = Object.fromEntries(
    kept.flatMap((name) => owned[name]!.figures).filter((key) => key in previous)
      .map((key) => [key, previous[key]]),
  );
  const keptRows = (previous.rows ?? []).filter((row) =>
    kept.some((name) => row.group.startsWith(owned[name]!.rows))
  );
  const partDates = Object.fromEntries(
    Object.keys(owned).flatMap((name) => {
      if (name in results) return [[name, date]];
      const had = owned[name]!.figures.some((key) => key in keptFigures);
      const when = previous.partDates?.[name] ?? previous.date;
      return had && when ? [[name, when]] : [];
    }),
  );
  const json = {
    date,
    mode: quick ? "quick" : "full",
    machine,
    versions,
    seconds: Math.round((performance.now() - started) / 1000),
    partDates,
    ...keptFigures,
    ...figures,
    rows: [...rows, ...keptRows],
  };
  await Deno.writeTextFile(new URL("latest.json", out), JSON.stringify(json, null, 2) + "\n");
  if (chart.length > 0) {
    const caption = `h5-uploader vs the limit and peers, ${
      date.slice(0, 10)
    }, ${machine.cpus} cores / ${machine.memoryGiB} GiB (${json.mode} run)`;
    await Deno.writeTextFile(new URL("chart.svg", out), renderChart(chart, caption));
  }
  console.error(
    `wrote bench/results/latest.json${
      chart.length ? " and bench/results/chart.svg" : ""
    } in ${elapsed()}`,
  );
}
Deno.exit(failed ? 1 : 0);
