/** The markdown tables `deno task bench:cluster` prints, from the results of its setups. */
import type { UploadFigures } from "./uploads.ts";
import type { WatcherFigures } from "./watchers.ts";

export interface SetupResult {
  name: string;
  nodes: number;
  promise: string;
  /** What the nodes said at start about their engines. */
  engines: string[];
  upload?: UploadFigures;
  watchers?: WatcherFigures;
  /** The first failure of this setup (a lost byte, an upload refused, a start that failed). */
  error?: string;
  /** 1-minute load average at the setup's start and end. */
  loadAverage: { start: number; end: number };
  seconds: number;
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !b ? "n/a" : `${(a / b).toFixed(2)}×`;
const list = (values: Record<string, number> | undefined) =>
  values ? Object.values(values).join(" / ") : "n/a";

export function table(results: SetupResult[]): string {
  const base = results.find((r) => r.nodes === 0);
  const head = [
    "setup",
    "uploads MiB/s",
    "× embedded",
    "node peak RSS, uploads (MiB)",
    "files checked by sha256",
    "progress p50 / p99 / max (ms)",
    "p99 × embedded",
    "256 KiB PATCH answered p50 / p99 (ms)",
    "node peak RSS, watchers (MiB)",
    "connections per node",
    "missed completions",
    "load (start–end)",
  ];
  const rows = results.map((r) => {
    const u = r.upload;
    const w = r.watchers;
    return [
      r.name + (r.error ? " (**failed**)" : ""),
      u ? u.mibPerSecond.toFixed(1) : "n/a",
      ratio(u?.mibPerSecond, base?.upload?.mibPerSecond),
      list(u?.peakRssMiB),
      u ? `${u.verified} of ${u.uploads}` : "n/a",
      w ? `${w.progressP50Ms} / ${w.progressP99Ms} / ${w.maxMs}` : "n/a",
      ratio(w?.progressP99Ms, base?.watchers?.progressP99Ms),
      w ? `${w.answerP50Ms} / ${w.answerP99Ms}` : "n/a",
      list(w?.peakRssMiB),
      list(w?.connectionsPerNode),
      w ? String(w.missingCompletions) : "n/a",
      `${r.loadAverage.start.toFixed(1)}–${r.loadAverage.end.toFixed(1)}`,
    ];
  });
  const lines = [head, head.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`);
  const services = results.filter((r) =>
    r.upload && Object.keys(r.upload.servicesPeakRssMiB).length
  )
    .map((r) =>
      `- ${r.name}: services peak RSS uploads ${
        Object.entries(r.upload!.servicesPeakRssMiB).map(([k, v]) => `${k} ${v}`).join(", ")
      } MiB; CPU s per GiB ${
        Object.entries(r.upload!.cpuSecondsPerGiB).map(([k, v]) => `${k} ${v}`).join(", ")
      }`
    );
  const promises = results.map((r) => `- ${r.name}: ${r.promise}`);
  const errors = results.filter((r) => r.error).map((r) =>
    `- ${r.name}: ${r.error!.replace(/\s+/g, " ")}`
  );
  return [
    ...lines,
    "",
    "What each setup has promised when it answers a PATCH:",
    ...promises,
    ...(services.length ? ["", "Services and CPU during the uploads:", ...services] : []),
    ...(errors.length ? ["", "Failures:", ...errors] : []),
  ].join("\n");
}
