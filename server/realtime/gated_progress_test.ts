/**
 * Two nodes' progress rooms sharing one throttle gate (as on Redis): a file whose deltas are
 * committed on both nodes is sent once per window by whichever node wins, the held-back update
 * leaves from the newest state the refused node knows (the peer's delta included), and a
 * status change passes at once. Without the gate each room sent its own first update.
 */
import assert from "node:assert/strict";
import type { ProgressUpdateEvent } from "../../protocol/events.ts";
import { within } from "../../tests/support/deadline.ts";
import type { FileState, ProgressDelta } from "../upload/progress_delta.ts";
import { ProgressRooms } from "./progress_rooms.ts";
import { ProgressThrottle } from "./throttle.ts";
import { MemoryThrottleGate } from "./throttle_gate.ts";

const S = "session-1";

function delta(
  offset: number,
  status: FileState["status"] = "uploading",
  at = offset,
): ProgressDelta {
  const file: FileState = {
    id: "f",
    filename: "f.bin",
    offset,
    size: 1000,
    status,
    error: null,
    storageKey: null,
    concat: "none",
  };
  return { kind: "file", sessionId: S, at, file };
}

Deno.test("gated progress: two nodes on one gate send one update per window, the newest", async () => {
  // Counts the asks, so the test can wait for the refused node's held-back one.
  let asks = 0;
  let asked: { n: number; resolve: () => void } | null = null;
  const gate = new class extends MemoryThrottleGate {
    override async admit(...args: Parameters<MemoryThrottleGate["admit"]>) {
      const decision = await super.admit(...args);
      asks++;
      if (asked && asks >= asked.n) asked.resolve();
      return decision;
    }
  }({ now: () => Date.now(), intervalMs: 60 });
  const sent: { node: string; payload: ProgressUpdateEvent }[] = [];
  let waiter: { n: number; resolve: () => void } | null = null;
  const node = (name: string) =>
    new ProgressRooms({
      throttle: new ProgressThrottle({ now: Date.now }),
      gate,
      now: Date.now,
      emit: (payload) => {
        sent.push({ node: name, payload });
        if (waiter && sent.length >= waiter.n) waiter.resolve();
      },
    });
  const next = (n: number) =>
    within(
      new Promise<void>((resolve) => sent.length >= n ? resolve() : waiter = { n, resolve }),
      `payload ${n}`,
    );
  const a = node("a"), b = node("b");
  try {
    a.apply(delta(100));
    b.apply(delta(100), { send: false });
    await next(1);
    b.apply(delta(200)); // committed on B inside A's window: held back
    a.apply(delta(200), { send: false });
    a.apply(delta(300)); // and on A: held back too
    b.apply(delta(300), { send: false });
    await next(2);
    // One trailing update for both nodes, carrying what both committed.
    assert.equal(sent[1]!.payload.currentFile!.uploadedBytes, 300);
    // A status change goes at once, even while A (which has not heard it yet) asks again.
    b.apply(delta(300, "paused", 301));
    await next(3);
    assert.equal(sent[2]!.payload.currentFile!.status, "paused");
    // A's held-back ask (the fifth: A, B, A, then both again) finds nothing newer, or its
    // state older than the pause that was sent.
    await within(
      new Promise<void>((resolve) => asks >= 5 ? resolve() : asked = { n: 5, resolve }),
      "both held-back asks",
    );
    await Promise.resolve();
    assert.equal(sent.length, 3, JSON.stringify(sent.map((s) => s.node)));
  } finally {
    a.close();
    b.close();
  }
});
