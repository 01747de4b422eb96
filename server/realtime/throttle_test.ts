import assert from "node:assert/strict";
import type { FileStatus } from "../../protocol/events.ts";
import { ProgressThrottle } from "./throttle.ts";

const S = "session-1";

function setup() {
  let t = 1_000_000;
  const throttle = new ProgressThrottle({ now: () => t });
  const send = (progress: number, status: FileStatus = "uploading", id = "f1") =>
    throttle.shouldSend(S, { id, progress, status });
  return { throttle, send, advance: (ms: number) => (t += ms) };
}

Deno.test("throttle: the first update of a file is sent", () => {
  const { send } = setup();
  assert.equal(send(0.2), true);
});

Deno.test("throttle: needs 500 ms AND 1 % since the last sent update", () => {
  const { send, advance } = setup();
  assert.equal(send(10), true);
  advance(499);
  assert.equal(send(20), false, "enough progress, too early");
  advance(1);
  assert.equal(send(10.9), false, "late enough, too little progress");
  assert.equal(send(11), true, "500 ms and exactly 1 %");
  advance(10_000);
  assert.equal(send(11.5), false, "a long pause alone is not enough");
  assert.equal(send(10), true, "1 % in either direction counts");
});

Deno.test("throttle: dropped updates do not move the reference point", () => {
  const { send, advance } = setup();
  assert.equal(send(10), true);
  advance(300);
  assert.equal(send(10.6), false);
  advance(200);
  // 500 ms after the last *sent* update, 1 % above the last *sent* progress.
  assert.equal(send(11), true);
});

Deno.test("throttle: a status change is always sent", () => {
  const { send } = setup();
  assert.equal(send(10), true);
  assert.equal(send(10, "paused"), true);
  assert.equal(send(10, "paused"), false);
  assert.equal(send(10.1, "uploading"), true);
});

Deno.test("throttle: reaching 100 is always sent, once", () => {
  const { send } = setup();
  assert.equal(send(99.5), true);
  assert.equal(send(100), true);
  assert.equal(send(100), false);
});

Deno.test("throttle: a terminal status is sent and forgets the file", () => {
  for (const terminal of ["completed", "failed", "cancelled"] as const) {
    const { throttle, send } = setup();
    assert.equal(send(40), true);
    assert.equal(throttle.size, 1);
    assert.equal(send(40, terminal), true);
    assert.equal(throttle.size, 0, `${terminal} forgets`);
    // A retry starts over: its first update passes.
    assert.equal(send(0), true);
  }
});

Deno.test("throttle: files and sessions are independent", () => {
  const { throttle, send } = setup();
  assert.equal(send(10, "uploading", "f1"), true);
  assert.equal(send(10, "uploading", "f2"), true);
  assert.equal(throttle.shouldSend("other", { id: "f1", progress: 10, status: "uploading" }), true);
  assert.equal(send(10.5, "uploading", "f1"), false);
  throttle.forgetSession(S);
  assert.equal(throttle.size, 1);
  assert.equal(send(10.5, "uploading", "f1"), true);
});

Deno.test("throttle: idle files are swept when many new ones arrive", () => {
  let t = 0;
  const throttle = new ProgressThrottle({ now: () => t, idleMs: 1000 });
  throttle.shouldSend("old", { id: "f", progress: 1, status: "uploading" });
  t = 5000;
  for (let i = 0; i < 1100; i++) {
    throttle.shouldSend("new", { id: `f${i}`, progress: 1, status: "uploading" });
  }
  assert.equal(throttle.size, 1100, "the idle file was swept");
});
