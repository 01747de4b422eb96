import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import { MemoryStopChannel, MemoryStopHub } from "../cluster/memory_stop_channel.ts";
import type { StopReason } from "./in_flight.ts";
import { SharedInFlight } from "./shared_in_flight.ts";

function aborted(controller: AbortController): Promise<unknown> {
  return new Promise((resolve) =>
    controller.signal.addEventListener("abort", () => resolve(controller.signal.reason))
  );
}

function heard(hub: MemoryStopHub, uploadId: string): Promise<void> {
  const channel = new MemoryStopChannel<StopReason>(hub);
  return new Promise((resolve) => {
    channel.listen((id) => {
      if (id === uploadId) resolve();
    });
  });
}

Deno.test("SharedInFlight - a stop on one node ends the PATCH another node runs", async () => {
  const hub = new MemoryStopHub();
  const a = new SharedInFlight(new MemoryStopChannel<StopReason>(hub));
  const b = new SharedInFlight(new MemoryStopChannel<StopReason>(hub));
  const controller = a.register("u1");
  b.stop("u1", "pause");
  assert.equal(await within(aborted(controller), "node A's PATCH to stop"), "pause");
  a.close();
  b.close();
});

Deno.test("SharedInFlight - its own request heard back does not end a newer PATCH", async () => {
  const hub = new MemoryStopHub();
  const a = new SharedInFlight(new MemoryStopChannel<StopReason>(hub));
  const first = a.register("u1");
  const echo = heard(hub, "u1");
  a.stop("u1", "superseded");
  assert.ok(first.signal.aborted, "stopped here at once");
  a.unregister("u1", first);
  const second = a.register("u1");
  await within(echo, "the request to go round");
  await Promise.resolve();
  assert.equal(second.signal.aborted, false, "the echo of the old stop is ignored");
  a.close();
});
