import assert from "node:assert/strict";
import type { ProgressUpdateEvent } from "../../protocol/events.ts";
import type { FileState, ProgressDelta } from "../upload/progress_delta.ts";
import { within } from "../../tests/support/deadline.ts";
import { ProgressRooms, type ProgressSeed } from "./progress_rooms.ts";
import { ProgressThrottle } from "./throttle.ts";

const S = "session-1";

function file(id: string, offset: number, status: FileState["status"] = "uploading"): FileState {
  return {
    id,
    filename: `${id}.bin`,
    offset,
    size: 1000,
    status,
    error: null,
    storageKey: null,
    concat: "none",
  };
}

function delta(f: FileState, at: number): ProgressDelta {
  return { kind: "file", sessionId: S, at, file: f };
}

/**
 * Rooms over a clock the test moves, with a short throttle (its trailing timers are real, 40 ms
 * at most); `next(n)` resolves at the n-th payload.
 */
function rooms(seed?: (id: string) => Promise<ProgressSeed | null>) {
  const sent: ProgressUpdateEvent[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const clock = { now: 0 };
  const r = new ProgressRooms({
    throttle: new ProgressThrottle({ now: () => clock.now, intervalMs: 40 }),
    now: () => clock.now,
    emit: (payload) => {
      sent.push(payload);
      for (const w of waiters.filter((w) => sent.length >= w.n)) w.resolve();
    },
    ...(seed ? { seed } : {}),
  });
  const next = (n: number) =>
    within(new Promise<void>((resolve) => waiters.push({ n, resolve })), `payload ${n}`);
  return { r, sent, next, clock };
}

Deno.test("progress rooms: a trailing update is built from the newest state when it leaves", async () => {
  const { r, sent, next, clock } = rooms();
  try {
    r.apply(delta(file("f", 100), 1));
    assert.equal(sent.length, 1);
    r.apply(delta(file("f", 200), 2)); // held back: too soon
    r.apply(delta(file("f", 350), 3)); // newer, still held back
    assert.equal(sent.length, 1);
    clock.now = 40; // the interval has passed when the held-back update is due
    await next(2);
    assert.equal(sent[1]!.currentFile!.uploadedBytes, 350);
    assert.equal(sent[1]!.timestamp, new Date(3).toISOString());
    assert.equal(r.sizes.trailing, 0);
  } finally {
    r.close();
  }
});

Deno.test("progress rooms: the store is read once per room; room events wait behind it", async () => {
  let reads = 0;
  const gate = Promise.withResolvers<ProgressSeed>();
  const { r, sent, next } = rooms(() => {
    reads++;
    return gate.promise;
  });
  try {
    const order: string[] = [];
    r.apply(delta(file("a", 10), 1));
    r.inOrder(S, () => order.push("room event"));
    r.apply(delta(file("a", 20, "paused"), 2));
    assert.deepEqual(order, [], "nothing runs before the room knows the session");
    gate.resolve({
      session: { id: S, status: "active", announcedFileIds: [] },
      files: [file("a", 0), file("b", 1000, "completed")],
    });
    await next(2);
    assert.deepEqual(order, ["room event"]);
    assert.equal(sent[0]!.completedFiles, 1, "the seed's other file counts");
    assert.equal(sent[1]!.currentFile!.status, "paused");
    for (let i = 3; i < 20; i++) r.apply(delta(file("a", i * 10), i));
    assert.equal(reads, 1);
  } finally {
    r.close();
  }
});

Deno.test("progress rooms: another node's delta updates the room and sends nothing", () => {
  const { r, sent } = rooms();
  try {
    r.apply(delta(file("a", 10), 1));
    r.apply(delta(file("b", 1000, "completed"), 2), { send: false });
    assert.equal(sent.length, 1);
    r.apply({ kind: "summary", sessionId: S, at: 3 });
    assert.equal(sent[1]!.completedFiles, 1);
    assert.equal(sent[1]!.currentFile, undefined);
    // Unknown here: nothing to keep, and no room is opened for it.
    r.apply(delta(file("c", 5), 4), { send: false });
    r.apply({ kind: "summary", sessionId: "other", at: 5 }, { send: false });
    assert.equal(r.sizes.rooms, 1);
  } finally {
    r.close();
  }
});

Deno.test("progress rooms: a session-level update counts files as the store says; order kept", async () => {
  const reads: ProgressSeed[] = [
    { session: { id: S, status: "active", announcedFileIds: [] }, files: [] },
    {
      // A concatenated final gets no delta of its own; the session was cancelled meanwhile.
      session: { id: S, status: "cancelled", announcedFileIds: [] },
      files: [file("a", 10, "cancelled"), { ...file("final", 0, "failed"), concat: "final" }],
    },
  ];
  let n = 0;
  const { r, sent, next } = rooms(() => Promise.resolve(reads[Math.min(n++, 1)]!));
  try {
    const order: string[] = [];
    r.apply(delta(file("a", 10), 1));
    await next(1);
    r.apply({ kind: "summary", sessionId: S, at: 2 });
    r.inOrder(S, () => order.push(`event after ${sent.length} payloads`));
    await next(2);
    assert.equal(n, 2, "read again for the session-level update");
    assert.deepEqual(order, ["event after 2 payloads"]);
    assert.equal(sent[1]!.overallStatus, "cancelled");
    assert.equal(sent[1]!.failedFiles, 1);
    assert.equal(r.sizes.rooms, 0, "an ended session's room is dropped");
  } finally {
    r.close();
  }
});

Deno.test("progress rooms: a failed read is tried again at the next delta", async () => {
  let n = 0;
  const { r, sent, next } = rooms(() => {
    n++;
    if (n === 1) return Promise.reject(new Error("store down"));
    return Promise.resolve({
      session: { id: S, status: "active", announcedFileIds: [] },
      files: [],
    });
  });
  const logged = console.error;
  const failed = Promise.withResolvers<void>();
  console.error = () => failed.resolve();
  try {
    r.apply(delta(file("a", 10), 1));
    await within(failed.promise, "the failed read to be logged");
    // The room is dropped right after the queued work ran (microtasks, no timer).
    for (let i = 0; i < 10 && r.sizes.rooms > 0; i++) await Promise.resolve();
    assert.equal(r.sizes.rooms, 0, "a room the store could not tell about is dropped");
    assert.equal(sent.length, 0, "nothing is sent without the session");
    r.apply(delta(file("a", 20, "paused"), 2));
    await next(1);
    assert.equal(n, 2);
    assert.equal(sent[0]!.currentFile!.status, "paused");
  } finally {
    console.error = logged;
    r.close();
  }
});
