import assert from "node:assert/strict";
import { pairedRatios } from "./mod.ts";

Deno.test("pairedRatios - ratios round by round, not of the medians", () => {
  // Round 2 was slow for both stacks (a load burst): pairing cancels it out.
  const ours = [400, 100, 420];
  const limit = [500, 125, 500];
  assert.deepEqual(pairedRatios(ours, limit), { min: 0.8, median: 0.8, max: 0.84 });
});

Deno.test("pairedRatios - null when a stack is missing or the rounds differ", () => {
  assert.equal(pairedRatios(undefined, [1]), null);
  assert.equal(pairedRatios([1, 2], [1]), null);
  assert.equal(pairedRatios([], []), null);
});
