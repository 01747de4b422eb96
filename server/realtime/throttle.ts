import {
  type FileStatus,
  MIN_PROGRESS_CHANGE,
  SESSION_TIMEOUT_MS,
  THROTTLE_INTERVAL_MS,
} from "../../protocol/events.ts";
import { SETTLED } from "../../protocol/status.ts";

/** Statuses after which a file sends no more progress, so its state can be dropped. */
export const TERMINAL_FILE_STATUSES = SETTLED;

export interface ThrottleOptions {
  now: () => number;
  intervalMs?: number;
  minProgressChange?: number;
  /** Entries untouched for this long are swept (a session that expired without a final event). */
  idleMs?: number;
}

interface Sent {
  at: number;
  progress: number;
  status: FileStatus;
}

/** How many new files are tracked between two idle sweeps; amortises the sweep to O(1). */
const SWEEP_EVERY = 1024;

/**
 * The spec's progress throttle (节流策略), per (sessionId, fileId). Pure: the clock is
 * injected and nothing is scheduled here; status changes and 100 % always pass, and the
 * bridge sends a trailing update (`waitFor`) so the last bytes of a stalled upload are heard.
 */
export class ProgressThrottle {
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #minChange: number;
  readonly #idleMs: number;
  readonly #sessions = new Map<string, Map<string, Sent>>();
  #insertsSinceSweep = 0;

  constructor(options: ThrottleOptions) {
    this.#now = options.now;
    this.#intervalMs = options.intervalMs ?? THROTTLE_INTERVAL_MS;
    this.#minChange = options.minProgressChange ?? MIN_PROGRESS_CHANGE;
    this.#idleMs = options.idleMs ?? SESSION_TIMEOUT_MS;
  }

  /** Decides for one update and records it as sent when the answer is true. */
  shouldSend(
    sessionId: string,
    file: { id: string; progress: number; status: FileStatus },
  ): boolean {
    const now = this.#now();
    const files = this.#sessions.get(sessionId);
    const last = files?.get(file.id);
    const send = last === undefined ||
      last.status !== file.status ||
      (file.progress >= 100 && last.progress < 100) ||
      (now - last.at >= this.#intervalMs &&
        Math.abs(file.progress - last.progress) >= this.#minChange);
    if (!send) return false;

    if (TERMINAL_FILE_STATUSES.has(file.status)) {
      this.forgetFile(sessionId, file.id);
      return true;
    }
    if (last === undefined) this.#maybeSweep(now);
    let map = this.#sessions.get(sessionId);
    if (map === undefined) {
      map = new Map();
      this.#sessions.set(sessionId, map);
    }
    map.set(file.id, { at: now, progress: file.progress, status: file.status });
    return true;
  }

  /**
   * For an update that `shouldSend` refused only because it came too soon (its change is
   * big enough): the milliseconds until it may go. Else null: it may never go as it is.
   */
  waitFor(
    sessionId: string,
    file: { id: string; progress: number; status: FileStatus },
  ): number | null {
    const last = this.#sessions.get(sessionId)?.get(file.id);
    if (!last || last.status !== file.status) return null;
    if (Math.abs(file.progress - last.progress) < this.#minChange) return null;
    return Math.max(0, last.at + this.#intervalMs - this.#now());
  }

  /** Records an update as sent whatever `shouldSend` would say (the gate's `record`). */
  record(sessionId: string, file: { id: string; progress: number; status: FileStatus }): void {
    if (TERMINAL_FILE_STATUSES.has(file.status)) return this.forgetFile(sessionId, file.id);
    let map = this.#sessions.get(sessionId);
    if (map === undefined) {
      map = new Map();
      this.#sessions.set(sessionId, map);
    }
    map.set(file.id, { at: this.#now(), progress: file.progress, status: file.status });
  }

  forgetFile(sessionId: string, fileId: string): void {
    const files = this.#sessions.get(sessionId);
    if (files === undefined) return;
    files.delete(fileId);
    if (files.size === 0) this.#sessions.delete(sessionId);
  }

  forgetSession(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  /** Tracked files, for tests and metrics. */
  get size(): number {
    let n = 0;
    for (const files of this.#sessions.values()) n += files.size;
    return n;
  }

  #maybeSweep(now: number): void {
    if (++this.#insertsSinceSweep < SWEEP_EVERY) return;
    this.#insertsSinceSweep = 0;
    for (const [sessionId, files] of this.#sessions) {
      for (const [fileId, sent] of files) {
        if (now - sent.at > this.#idleMs) files.delete(fileId);
      }
      if (files.size === 0) this.#sessions.delete(sessionId);
    }
  }
}
