import assert from "node:assert/strict";
import { milestones } from "./milestones.ts";
import { file, snapshot } from "./test_support.ts";
import { EMPTY_SNAPSHOT } from "./upload_controller.ts";

Deno.test("milestones - files added", () => {
  assert.deepEqual(milestones(EMPTY_SNAPSHOT, snapshot([file("a"), file("b")])), [
    { kind: "added", count: 2 },
  ]);
});

Deno.test("milestones - quarter steps of the total, never every tick", () => {
  const at = (p: number) => snapshot([file("a", { status: "uploading", progress: p })]);
  assert.deepEqual(milestones(at(0.1), at(0.2)), []);
  assert.deepEqual(milestones(at(0.2), at(0.26)), [{ kind: "progress", percent: 25 }]);
  assert.deepEqual(milestones(at(0.26), at(0.3)), []);
  assert.deepEqual(milestones(at(0.3), at(0.8)), [{ kind: "progress", percent: 75 }]);
});

Deno.test("milestones - completed, failed, paused; the last completion says all done", () => {
  const a = file("a", { status: "uploading", progress: 0.9 });
  const b = file("b", { status: "uploading", progress: 0.9 });
  const error = { code: "NETWORK_ERROR" as const, message: "offline" };
  assert.deepEqual(
    milestones(
      snapshot([a, b]),
      snapshot([file("a", { status: "completed", progress: 1 }), {
        ...b,
        status: "failed",
        error,
      }]),
    ),
    [{ kind: "completed", name: "a.jpg" }, { kind: "failed", name: "b.jpg", error }],
  );
  assert.deepEqual(milestones(snapshot([a]), snapshot([{ ...a, status: "paused" }])), [
    { kind: "paused", name: "a.jpg" },
  ]);
  assert.deepEqual(
    milestones(snapshot([a]), snapshot([{ ...a, status: "completed", progress: 1 }])),
    [{ kind: "all-done", count: 1 }],
  );
});
