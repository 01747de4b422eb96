/** One part of `deno task bench`: measures, reports progress, returns its figures. */
export interface BenchContext {
  /** Smaller files and fewer rounds so the whole run ends under 5 minutes on 2 cores. */
  quick: boolean;
  /** A scratch folder (gitignored) the part may fill and must clean. */
  tmpDir: string;
  /** One line of progress for the terminal. */
  progress(message: string): void;
}

/** A table row for the terminal and the README. */
export interface BenchRow {
  group: string;
  name: string;
  value: string;
  target?: string;
  met?: boolean;
}

export interface BenchPartResult {
  /** Merged into bench/results/latest.json under the part's key. */
  figures: Record<string, unknown>;
  rows: BenchRow[];
  /** Series for the SVG chart: throughput (MB/s) and peak RSS (MiB) per stack. */
  chart?: { stack: string; mbPerSecond: number; peakRssMiB: number }[];
}

export type BenchPart = (context: BenchContext) => Promise<BenchPartResult>;
