/**
 * `deno task bench:soak [--minutes N] [--sessions N] [--watchers N]`: the server under a
 * steady mixed load for N minutes (default 10): 100 sessions uploading files continuously
 * (every path: complete, pause/resume, cancel, interrupt/resume, refused, deleted, abandoned
 * sessions that expire and are deleted) with 10 watcher sockets each (1,000 sockets). It
 * samples the server's RSS every 5 s and checks that it stays flat (the last minute's mean
 * within 10 % of the second minute's) and that nothing failed: no unexpected answer, no
 * dropped socket, no server error line. Exits 1 when either check fails.
 *
 * Loopback only, bounded in time and count. The first minute is the ramp and is not judged.
 */
import { DatabaseSync } from "node:sqlite";
import { type ServerStats, startSoakServer } from "./server.ts";
import { flatCheck, perMinute, slopeMiBPerMinute, SoakStats } from "./stats.ts";
import { runWorker, type SoakPlan, type WorkerContext } from "./worker.ts";

const KiB = 1024;

function option(name: string, fallback: number): number {
  const index = Deno.args.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(Deno.args[index + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} needs a positive number`);
    Deno.exit(2);
  }
  return value;
}

const minutes = option("minutes", 10);
const plan: SoakPlan = {
  sessions: option("sessions", 100),
  watchersPerSession: option("watchers", 10),
  filesPerSession: 20,
  chunkBytes: 64 * KiB,
  // ~100 PATCHes and ~6 MB a second in all: a load the disk of a shared 2-core machine
  // takes without the soak measuring the disk instead of the server.
  chunkIntervalMs: 1000,
  minFileBytes: 64 * KiB,
  maxFileBytes: 512 * KiB,
  abandonShare: 0.2,
};

function source(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  bytes.set([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
  return bytes;
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function stateRows(dataDir: string): { sessions: number; uploads: number } | null {
  try {
    const db = new DatabaseSync(`${dataDir}/state.db`, { readOnly: true });
    try {
      const n = (table: string) =>
        Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
      return { sessions: n("sessions"), uploads: n("uploads") };
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

const stats = new SoakStats();
let started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const dataDir = await Deno.makeTempDir({ prefix: "h5-soak-" });
const gcProbe = Deno.args.includes("--gc-probe");
const serverStats: ({ at: number } & ServerStats)[] = [];
const server = await startSoakServer(dataDir, stats, {
  gcProbe,
  onStats: (line) => serverStats.push({ at: elapsed(), ...line }),
});
const sockets = { open: 0, peak: 0 };
const endAt = minutes * 60;
const rows: { at: number; sessions: number; uploads: number }[] = [];
started = performance.now();
console.log(
  `soak: ${minutes} min, ${plan.sessions} sessions x ${plan.watchersPerSession} watchers, ` +
    `server pid ${server.pid}, data in ${dataDir}`,
);

const sampler = setInterval(() => {
  const at = elapsed();
  const rssMiB = server.rssMiB();
  // Only samples under load: from endAt the workers wind down and close their sockets.
  if (Number.isFinite(rssMiB) && at < endAt) stats.rss.push({ at, rssMiB });
  if (Math.round(at) % 30 < 5) {
    const state = stateRows(dataDir);
    if (state) rows.push({ at, ...state });
    const last = serverStats.at(-1);
    const heap = last
      ? `heap ${last.heapUsedMiB}/${last.heapTotalMiB} MiB, external ${last.externalMiB} MiB, ` +
        `meters ${last.speedMeters}, touched ${last.touchedSessions}, writes ${last.activeWrites}, `
      : "";
    console.log(
      `[${clock(at)}] RSS ${rssMiB.toFixed(1)} MiB, ${heap}sockets ${sockets.open}, ` +
        `files completed ${stats.counts.get("files completed") ?? 0}, ` +
        `rows ${state ? `${state.sessions} sessions/${state.uploads} uploads` : "?"}, ` +
        `errors ${stats.errors}`,
    );
  }
}, 5000);

const context: WorkerContext = {
  bases: [`http://127.0.0.1:${server.port}`, `http://[::1]:${server.port}`],
  stats,
  plan,
  stopping: () => elapsed() >= endAt,
  sockets,
  source: source(plan.maxFileBytes),
};
const workers: Promise<void>[] = [];
for (let i = 0; i < plan.sessions; i++) {
  workers.push(runWorker(context, i).catch((error) => stats.error(`worker ${i}: ${error}`)));
  // Spread the start over ~10 s rather than 1,000 handshakes at once.
  await new Promise((resolve) => setTimeout(resolve, 100));
}
let timer: ReturnType<typeof setTimeout> | undefined;
await Promise.race([
  Promise.all(workers),
  new Promise((resolve) => timer = setTimeout(resolve, (endAt + 120) * 1000)),
]);
clearTimeout(timer);
clearInterval(sampler);
const finalRows = stateRows(dataDir);
const peakMiB = Math.max(...stats.rss.map((s) => s.rssMiB));
await server.stop();
await Deno.remove(dataDir, { recursive: true }).catch(() => {});

const check = flatCheck(stats.rss, minutes);
console.log("\n== soak summary ==");
console.log(`duration: ${minutes} min of load; peak sockets open: ${sockets.peak}`);
console.log("RSS per minute (mean / max MiB):");
for (const row of perMinute(stats.rss)) {
  console.log(`  minute ${row.minute}: ${row.meanMiB.toFixed(1)} / ${row.maxMiB.toFixed(1)}`);
}
console.log(
  `RSS flat: second minute ${check.secondMinuteMiB.toFixed(1)} MiB, last minute ` +
    `${check.lastMinuteMiB.toFixed(1)} MiB, change ${(check.change * 100).toFixed(1)} % ` +
    `(limit 10 %): ${check.ok ? "PASS" : "FAIL"}; peak ${peakMiB.toFixed(1)} MiB`,
);
// Not the verdict (that is the issue's check above): whether RSS still climbs at the end.
const half = (minutes * 60) / 2;
console.log(
  `RSS slope over the second half (from ${clock(half)}): ` +
    `${slopeMiBPerMinute(stats.rss, half).toFixed(1)} MiB/min`,
);
if (finalRows) {
  console.log(
    `state rows at the end: ${finalRows.sessions} sessions, ${finalRows.uploads} uploads ` +
      `(over time: ${rows.map((r) => `${clock(r.at)} ${r.sessions}/${r.uploads}`).join(", ")})`,
  );
}
const settled = serverStats.filter((s) => s.at < endAt);
if (settled.length) {
  const first = settled.find((s) => s.at >= 60) ?? settled[0]!;
  const lastLine = settled.at(-1)!;
  console.log(
    `server heap used${gcProbe ? " (after a full GC)" : ""}: ${first.heapUsedMiB} MiB at ` +
      `${clock(first.at)}, ${lastLine.heapUsedMiB} MiB at ${
        clock(lastLine.at)
      }; in-memory maps at ` +
      `the end: ${lastLine.speedMeters} speed meters, ${lastLine.touchedSessions} touch marks, ` +
      `${lastLine.activeWrites} writes in flight`,
  );
}
console.log("load exercised:");
for (const [name, n] of [...stats.counts].sort()) console.log(`  ${name}: ${n}`);
console.log(`errors: ${stats.errors} (must be 0): ${stats.errors === 0 ? "PASS" : "FAIL"}`);
for (const line of stats.lastErrors) console.log(`  ${line}`);
Deno.exit(check.ok && stats.errors === 0 ? 0 : 1);
