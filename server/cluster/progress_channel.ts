/**
 * Per-file progress deltas (upload/progress_delta.ts) heard by every node. Socket.IO's Redis
 * adapter carries what a node sends to a room, but each node builds a session's progress from
 * its own room state: without the other nodes' deltas, a node that runs one file of a session
 * would send totals that miss the files another node runs. A node applies what it hears with
 * `{ send: false }` (realtime/progress_rooms.ts): its rooms stay exact and it never sends on
 * another node's behalf.
 */
import type { ProgressDelta } from "../upload/progress_delta.ts";

export interface ProgressChannel {
  /** Tells the other nodes; best effort (a lost delta is overtaken by the next whole state). */
  publish(delta: ProgressDelta): void;
  /** Hears the other nodes' deltas (never this node's own); returns the unsubscribe function. */
  listen(handler: (delta: ProgressDelta) => void): () => void;
  close(): Promise<void>;
}

/** The wire form: the sending node's id and the delta, so a node can skip its own. */
export function encodeProgress(node: string, delta: ProgressDelta): string {
  return JSON.stringify({ n: node, d: delta });
}

/** The delta another node sent, or null for this node's own or anything malformed. */
export function decodeProgress(self: string, message: string): ProgressDelta | null {
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed !== "object" || parsed === null) return null;
    const { n, d } = parsed as { n?: unknown; d?: unknown };
    if (typeof n !== "string" || n === self || typeof d !== "object" || d === null) return null;
    const delta = d as Partial<ProgressDelta>;
    if (typeof delta.sessionId !== "string" || typeof delta.at !== "number") return null;
    if (delta.kind === "file" && typeof delta.file === "object" && delta.file !== null) {
      return delta as ProgressDelta;
    }
    if (delta.kind === "session" && typeof delta.session === "object" && delta.session !== null) {
      return delta as ProgressDelta;
    }
    return delta.kind === "summary" ? delta as ProgressDelta : null;
  } catch {
    return null;
  }
}

/** Calls every handler, each in its own try: one failing listener must not starve the rest. */
export function deliverProgress(
  handlers: Iterable<(delta: ProgressDelta) => void>,
  delta: ProgressDelta,
): void {
  for (const handler of [...handlers]) {
    try {
      handler(delta);
    } catch (error) {
      console.error("A progress channel listener failed:", error);
    }
  }
}
