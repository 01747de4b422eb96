/**
 * `deno task bench:cluster [--quick] [--setups=0,1,2,3]`: the clustered mode's overhead, in
 * one run, against the embedded single node (0: no proxy, SQLite, local disk) as the baseline:
 * 1, 2 and 3 nodes on one redis-server and one s3rver behind nginx. Per setup, started fresh:
 * (1) concurrent tus uploads (16 x 64 MiB; --quick 4 x 16 MiB), throughput, peak RSS per node,
 * every file downloaded back and checked by sha256; (2) the real-time bench's watchers (1,000
 * in 100 rooms; --quick 200 in 20), progress from commit to watcher. Prints markdown tables
 * and writes bench/results/cluster.json. On a machine with 2 cores there is no speedup to
 * expect: what it shows is the cost of Redis and S3 as a ratio to the embedded mode, and that
 * no byte is lost. A lost or corrupted file, or a setup that fails, exits 1.
 */
import { planFor } from "../realtime/mod.ts";
import { type SetupResult, table } from "./report.ts";
import { enginesSaid, type Setup, setupName, startSetup } from "./setups.ts";
import { makeInputs, runUploads, type UploadPlan } from "./uploads.ts";
import { runWatchers } from "./watchers.ts";

const MiB = 2 ** 20;
const quick = Deno.args.includes("--quick");
const setupsArg = Deno.args.find((a) => a.startsWith("--setups="))?.slice(9) ?? "0,1,2,3";
const nodeCounts = setupsArg.split(",").map((s) => s.trim() === "embedded" ? 0 : Number(s));
if (nodeCounts.some((n) => !Number.isInteger(n) || n < 0 || n > 9)) {
  console.error(`--setups=${setupsArg}: expected node counts such as 0,1,2,3 (0: embedded)`);
  Deno.exit(2);
}
const uploadPlan: UploadPlan = quick
  ? { uploads: 4, size: 16 * MiB }
  : { uploads: 16, size: 64 * MiB };
const realtimePlan = planFor(quick);

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`.padStart(5);
const progress = (message: string) => console.error(`[${elapsed()}] ${message}`);
const load = () => Math.round((Deno.loadavg()[0] ?? NaN) * 100) / 100;
const loadSamples: number[] = [load()];
const sampler = setInterval(() => loadSamples.push(load()), 5_000);

const tmpDir = new URL("../tmp/", import.meta.url).pathname;
await Deno.mkdir(tmpDir, { recursive: true });
const scratch = await Deno.makeTempDir({ dir: tmpDir, prefix: "cluster-" });
const context = { quick, tmpDir: scratch, progress };

async function version(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0] ?? "";
  } catch {
    return "not found";
  }
}

async function measureSetup(nodes: number, inputs: Awaited<ReturnType<typeof makeInputs>>) {
  const name = setupName(nodes);
  const result: SetupResult = {
    name,
    nodes,
    promise: "",
    engines: [],
    loadAverage: { start: load(), end: NaN },
    seconds: 0,
  };
  const began = performance.now();
  let setup: Setup | null = null;
  try {
    progress(`${name}: starting`);
    setup = await startSetup(scratch, nodes);
    progress(`${name}: ready at ${setup.url}`);
    result.upload = await runUploads(setup, inputs, progress);
    result.watchers = await runWatchers(setup, context);
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    progress(`${name}: FAILED: ${result.error}`);
  } finally {
    if (setup) {
      result.engines = enginesSaid(setup);
      result.promise = setup.promise();
      await setup.close().catch((error) => {
        result.error ??= `stopping: ${error instanceof Error ? error.message : error}`;
      });
    }
    result.loadAverage.end = load();
    result.seconds = Math.round((performance.now() - began) / 1000);
  }
  return result;
}

const results: SetupResult[] = [];
try {
  progress(
    `${uploadPlan.uploads} x ${uploadPlan.size / MiB} MiB uploads and ${
      realtimePlan.rooms * realtimePlan.perRoom
    } watchers in ${realtimePlan.rooms} rooms per setup: ${nodeCounts.map(setupName).join(", ")}`,
  );
  progress(`writing the inputs (random bytes) in ${scratch}`);
  const inputs = await makeInputs(`${scratch}/inputs`, uploadPlan);
  for (const nodes of nodeCounts) results.push(await measureSetup(nodes, inputs));
} finally {
  clearInterval(sampler);
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
}

const markdown = table(results);
console.log(
  `\n## Cluster bench ${new Date().toISOString().slice(0, 16)} (${
    quick ? "quick" : "full"
  })\n\n${markdown}`,
);
const sorted = [...loadSamples].sort((a, b) => a - b);
const json = {
  date: new Date().toISOString(),
  mode: quick ? "quick" : "full",
  seconds: Math.round((performance.now() - started) / 1000),
  machine: { cpus: navigator.hardwareConcurrency, os: `${Deno.build.os} ${Deno.build.arch}` },
  versions: {
    deno: Deno.version.deno,
    node: await version("node", ["--version"]),
    curl: await version("curl", ["--version"]),
    nginx: await version("/usr/sbin/nginx", ["-v"]),
    redis: await version("redis-server", ["--version"]),
  },
  loadAverage: {
    min: sorted[0],
    median: sorted[Math.floor(sorted.length / 2)],
    max: sorted.at(-1),
    everyFiveSeconds: loadSamples,
  },
  plan: { uploads: { count: uploadPlan.uploads, sizeMiB: uploadPlan.size / MiB }, realtimePlan },
  setups: results,
  notes: [
    "embedded: one node reached directly (no proxy), SQLite state, local-disk files",
    "cluster: N nodes (deno run -A server/main.ts) on one redis-server (appendonly yes) and " +
    "one s3rver (npm, local files), nginx in front with a round-robin upstream: every client " +
    "of the bench is 127.0.0.1 and none polls (tus requests, WebSocket-only watchers), where " +
    "the production ip_hash would send them all to one node",
    "uploads: bench/upload/client.mjs (Node creates one session and the tus uploads, one " +
    "curl -Z carries every PATCH); MiB/s from the first PATCH to the last 204; every file " +
    "then downloaded back through the same URL and checked by size and sha256",
    "watchers: bench/realtime's paced phase (sessions, socket.io-client watchers, PATCHes " +
    "through the same URL); commit -> watcher is the receive time minus the progress " +
    "payload's timestamp, set when the service published the state after its durable commit",
    "peak RSS: VmHWM of each node's server process, reset (clear_refs) before each workload",
  ],
};
const out = new URL("../results/cluster.json", import.meta.url);
await Deno.writeTextFile(out, JSON.stringify(json, null, 2) + "\n");
progress(`wrote bench/results/cluster.json`);
Deno.exit(results.some((r) => r.error) ? 1 : 0);
