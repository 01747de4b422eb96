/**
 * What /proc says about the processes of a setup: peak RSS per workload (VmHWM, reset between
 * workloads through clear_refs) and how many connections each node holds (the watchers'
 * spread over the nodes). Linux only, as the other benches.
 */
import { peakRssMiB } from "../lib/child.ts";

export { peakRssMiB };

/**
 * Resets the peak RSS (VmHWM) of `pid` to its current RSS (`echo 5 > clear_refs`, Linux
 * 4.0+), so the next reading is the peak of the next workload alone. False where not allowed:
 * the reading then covers every workload since the start.
 */
export function resetPeak(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** utime + stime of `pid` in seconds (clock ticks of 1/100 s, as bench/realtime reads them). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Established TCP connections whose local port is `port` (IPv4 and IPv6 tables): the
 * connections a node accepted, i.e. its watchers plus nginx's few keep-alive upstream ones.
 */
export function establishedOn(port: number): number {
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // State 01 is ESTABLISHED; the local address ends in :<port in hex>.
      if (!local || fields[3] !== "01") continue;
      if (parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port) count++;
    }
  }
  return count;
}
