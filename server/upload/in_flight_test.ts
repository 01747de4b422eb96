import { strict as assert } from "node:assert";
import { LocalInFlight } from "./in_flight.ts";

Deno.test("in-flight - stop and stopLocal abort the upload's PATCH with the reason", () => {
  const inFlight = new LocalInFlight();
  const a = inFlight.register("a");
  const b = inFlight.register("b");
  assert.equal(inFlight.size, 2);
  inFlight.stop("a", "pause");
  assert.equal(a.signal.reason, "pause");
  assert.equal(b.signal.aborted, false, "only the named upload stops");
  assert.equal(inFlight.stopLocal("b", "cancel"), true);
  assert.equal(b.signal.reason, "cancel");
  assert.equal(inFlight.stopLocal("nobody", "cancel"), false, "not written here");
});

Deno.test("in-flight - a finished PATCH leaves a newer one of the same upload registered", () => {
  const inFlight = new LocalInFlight();
  const old = inFlight.register("a");
  const newer = inFlight.register("a");
  inFlight.unregister("a", old);
  assert.equal(inFlight.size, 1);
  inFlight.stop("a", "superseded");
  assert.equal(newer.signal.reason, "superseded");
  inFlight.unregister("a", newer);
  assert.equal(inFlight.size, 0);
});

Deno.test("in-flight - stopAll ends every PATCH of the node for a shutdown", () => {
  const inFlight = new LocalInFlight();
  const all = [inFlight.register("a"), inFlight.register("b")];
  inFlight.stopAll();
  assert.deepEqual(all.map((c) => c.signal.reason), ["shutdown", "shutdown"]);
});
