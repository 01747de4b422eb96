import type { FileStatus } from "../../protocol/events.ts";
import { ProgressThrottle } from "./throttle.ts";

/** What the throttle judges of one file: its rounded percentage and status. */
export interface ThrottleView {
  id: string;
  progress: number;
  status: FileStatus;
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

  constructor(options: { now: () => number; intervalMs?: number }) {
    this.#throttle = new ProgressThrottle(options);
  }

  admit(sessionId: string, file: ThrottleView): Promise<GateDecision> {
    if (this.#throttle.shouldSend(sessionId, file)) return Promise.resolve({ send: true });
    return Promise.resolve({ send: false, waitMs: this.#throttle.waitFor(sessionId, file) });
  }

  record(sessionId: string, file: ThrottleView): void {
    this.#throttle.record(sessionId, file);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
