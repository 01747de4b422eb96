import type { FileStatus } from "../../protocol/events.ts";
import { ProgressThrottle, TERMINAL_FILE_STATUSES } from "./throttle.ts";

/** What the throttle judges of one file: its rounded percentage and status. */
export interface ThrottleView {
  id: string;
  progress: number;
  status: FileStatus;
  /**
   * When this state was committed (the delta's `at`). A node asking with a state older than
   * the one last sent has not heard the newest delta yet (a status change from another node):
   * it is refused, or its stale status would pass as a change.
   */
  at?: number;
}

/** send: this node sends now. Else `waitMs`: ask again then; null: nothing worth sending. */
export type GateDecision = { send: true } | { send: false; waitMs: number | null };

/**
 * The spec's progress throttle (节流策略: per file, 500 ms AND 1 % since the last update sent)
 * as one decision shared by every node that may send for a session room. With several nodes
 * each throttling only what it sends itself, a file whose PATCHes go through N nodes was heard
 * up to N times per 500 ms; the gate records what was sent wherever it was sent.
 */
export interface ThrottleGate {
  /** Decides for a progress update and records it as sent when the answer is send. */
  admit(sessionId: string, file: ThrottleView): Promise<GateDecision>;
  /**
   * Records an update sent without asking (status changes and 100 %, which always pass, or
   * the newer state a winner actually sent); a settled status forgets the file.
   */
  record(sessionId: string, file: ThrottleView): void;
  close(): Promise<void>;
}

/** The in-process gate: one node's ProgressThrottle, for tests and several in-process nodes. */
export class MemoryThrottleGate implements ThrottleGate {
  readonly #throttle: ProgressThrottle;
  /** The commit time of what was last sent, per file; dropped when the file settles. */
  readonly #sentAt = new Map<string, number>();

  constructor(options: { now: () => number; intervalMs?: number }) {
    this.#throttle = new ProgressThrottle(options);
  }

  admit(sessionId: string, file: ThrottleView): Promise<GateDecision> {
    if (this.#stale(sessionId, file)) return Promise.resolve({ send: false, waitMs: null });
    if (this.#throttle.shouldSend(sessionId, file)) {
      this.#remember(sessionId, file);
      return Promise.resolve({ send: true });
    }
    return Promise.resolve({ send: false, waitMs: this.#throttle.waitFor(sessionId, file) });
  }

  record(sessionId: string, file: ThrottleView): void {
    this.#throttle.record(sessionId, file);
    this.#remember(sessionId, file);
  }

  #stale(sessionId: string, file: ThrottleView): boolean {
    const sent = this.#sentAt.get(`${sessionId}/${file.id}`);
    return file.at !== undefined && sent !== undefined && file.at < sent;
  }

  #remember(sessionId: string, file: ThrottleView): void {
    const key = `${sessionId}/${file.id}`;
    if (TERMINAL_FILE_STATUSES.has(file.status)) this.#sentAt.delete(key);
    else if (file.at !== undefined) this.#sentAt.set(key, file.at);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
