/**
 * What the live region announces: moments worth interrupting a screen reader user for,
 * found by comparing two engine snapshots (never every progress tick).
 */
import type { EngineSnapshot, FileError } from "./engine/types.ts";

export type Milestone =
  | { readonly kind: "added"; readonly count: number }
  | { readonly kind: "progress"; readonly percent: 25 | 50 | 75 }
  | { readonly kind: "completed"; readonly name: string }
  | { readonly kind: "failed"; readonly name: string; readonly error: FileError | null }
  | { readonly kind: "paused"; readonly name: string }
  | { readonly kind: "all-done"; readonly count: number };

const QUARTERS = [25, 50, 75] as const;

/** Milestones passed between `prev` and `next`, in reading order. */
export function milestones(prev: EngineSnapshot, next: EngineSnapshot): Milestone[] {
  const out: Milestone[] = [];
  const before = new Map(prev.files.map((f) => [f.id, f]));
  const added = next.files.filter((f) => !before.has(f.id)).length;
  if (added) out.push({ kind: "added", count: added });

  const allDone = next.complete && !prev.complete;
  for (const file of next.files) {
    const old = before.get(file.id);
    if (!old || old.status === file.status) continue;
    if (file.status === "completed" && !allDone) out.push({ kind: "completed", name: file.name });
    if (file.status === "failed") out.push({ kind: "failed", name: file.name, error: file.error });
    if (file.status === "paused") out.push({ kind: "paused", name: file.name });
  }

  const quarter = (s: EngineSnapshot) => (s.files.length ? Math.floor(s.totals.progress * 4) : 0);
  const reached = quarter(next);
  if (!added && !allDone && reached > quarter(prev) && reached >= 1 && reached <= 3) {
    out.push({ kind: "progress", percent: QUARTERS[reached - 1]! });
  }
  if (allDone) {
    out.push({
      kind: "all-done",
      count: next.files.filter((f) => f.status === "completed").length,
    });
  }
  return out;
}
