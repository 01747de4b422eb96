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

/** Rooms over a real clock with a short throttle; `next(n)` resolves at the n-th payload. */
function rooms(seed?: (id: string) => Promise<ProgressSeed | null>) {
  const sent: ProgressUpdateEvent[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const r = new ProgressRooms({
    throttle: new ProgressThrottle({ now: Date.now, intervalMs: 40 }),
    now: Date.now,
    emit: (payload) => {
      sent.push(payload);
      for (const w of waiters.filter((w) => sent.length >= w.n)) w.resolve();
    },
    ...(seed ? { seed } : {}),
  });
  const next = (n: number) =>
    within(new Promise<void>((resolve) => waiters.push({ n, resolve })), `payload ${n}`);
  return { r, sent, next };
}

Deno.test("progress rooms: a trailing update is built from the newest state when it leaves", async () => {
  const { r, sent, next } = rooms();
  try {
    r.apply(delta(file("f", 100), 1));
    assert.equal(sent.length, 1);
    r.apply(delta(file("f", 200), 2)); // held back: too soon
    r.apply(delta(file("f", 350), 3)); // newer, still held back
    assert.equal(sent.length, 1);
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
