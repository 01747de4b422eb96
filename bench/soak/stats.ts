/** What the soak counts, and its verdict: flat memory and no errors. */

export interface RssSample {
  /** Seconds since the load started. */
  at: number;
  rssMiB: number;
}

export class SoakStats {
  /** Outcomes by name (files completed, paused, cancelled, ...): what the load exercised. */
  readonly counts = new Map<string, number>();
  /** Unexpected answers, socket failures and server error lines; the last few are kept. */
  errors = 0;
  readonly lastErrors: string[] = [];
  readonly rss: RssSample[] = [];

  count(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  error(what: string): void {
    this.errors++;
    this.lastErrors.push(what.slice(0, 300));
    if (this.lastErrors.length > 10) this.lastErrors.shift();
  }
}

export interface FlatCheck {
  secondMinuteMiB: number;
  lastMinuteMiB: number;
  /** (last - second) / second. */
  change: number;
  ok: boolean;
}

/**
 * "RSS flat": the mean RSS of the last minute within `tolerance` (10 %) of the second
 * minute's. The first minute is left out: it is the ramp (sockets connecting, sessions
 * filling up, the allocator and JIT warming). Needs at least three minutes of samples.
 */
export function flatCheck(samples: RssSample[], minutes: number, tolerance = 0.1): FlatCheck {
  const mean = (from: number, to: number) => {
    const inside = samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rssMiB);
    return inside.length ? inside.reduce((a, b) => a + b, 0) / inside.length : NaN;
  };
  const secondMinuteMiB = mean(60, 120);
  const lastMinuteMiB = mean((minutes - 1) * 60, minutes * 60);
  const change = (lastMinuteMiB - secondMinuteMiB) / secondMinuteMiB;
  return {
    secondMinuteMiB,
    lastMinuteMiB,
    change,
    ok: minutes >= 3 && Number.isFinite(change) && Math.abs(change) <= tolerance,
  };
}

/** Mean and max RSS of each whole minute, for the report. */
export function perMinute(
  samples: RssSample[],
): { minute: number; meanMiB: number; maxMiB: number }[] {
  const out: { minute: number; meanMiB: number; maxMiB: number }[] = [];
  for (let minute = 1;; minute++) {
    const inside = samples.filter((s) => s.at >= (minute - 1) * 60 && s.at < minute * 60);
    if (inside.length === 0) break;
    const values = inside.map((s) => s.rssMiB);
    out.push({
      minute,
      meanMiB: values.reduce((a, b) => a + b, 0) / values.length,
      maxMiB: Math.max(...values),
    });
  }
  return out;
}

/**
 * Least-squares slope of RSS (MiB per minute) over the samples from `fromSec` on: whether
 * memory still climbs at the end of the run (a leak) or has levelled off (a ramp that ended).
 */
export function slopeMiBPerMinute(samples: RssSample[], fromSec: number): number {
  const inside = samples.filter((s) => s.at >= fromSec);
  if (inside.length < 2) return NaN;
  const n = inside.length;
  const mx = inside.reduce((a, s) => a + s.at, 0) / n;
  const my = inside.reduce((a, s) => a + s.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of inside) {
    num += (s.at - mx) * (s.rssMiB - my);
    den += (s.at - mx) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 60;
}
