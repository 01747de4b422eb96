import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import { Lease } from "./lease.ts";
import { LockLostError } from "./locker.ts";

function lostReason(lease: Lease): Promise<LockLostError> {
  return new Promise((resolve) =>
    lease.lost.addEventListener("abort", () => resolve(lease.lost.reason), { once: true })
  );
}

Deno.test("Lease - a renewal that never answers: lost at the end of the lease", async () => {
  // What a client does whose connection dropped: it queues the command until it reconnects.
  let renewals = 0;
  const lease = new Lease("k", 60, () => {
    renewals++;
    return new Promise<boolean>(() => {});
  });
  lease.start(performance.now());
  const reason = await within(lostReason(lease), "the lost signal");
  assert.ok(reason instanceof LockLostError);
  assert.match(reason.message, /no renewal succeeded within the 60 ms lease/);
  assert.equal(renewals, 1, "no second renewal while the first is pending");
  lease.stop();
});

Deno.test("Lease - a renewal that fails or finds the key taken: lost with the cause", async () => {
  const failing = new Error("connection reset");
  const failed = new Lease("k", 30, () => Promise.reject(failing));
  failed.start(performance.now());
  const reason = await within(lostReason(failed), "lost after a failed renewal");
  assert.match(reason.message, /Lost the lock of "k": a renewal failed/);
  assert.equal(reason.cause, failing);

  const taken = new Lease("k", 30, () => Promise.resolve(false));
  taken.start(performance.now());
  assert.match((await within(lostReason(taken), "lost")).message, /another holder has it/);
});

Deno.test("Lease - renewals that succeed keep it; stop() ends them without losing it", async () => {
  let renewals = 0;
  const renewedThrice = Promise.withResolvers<void>();
  const lease = new Lease("k", 30, () => {
    if (++renewals === 3) renewedThrice.resolve();
    return Promise.resolve(true);
  });
  lease.start(performance.now());
  // Three renewals span a full lease: a lease that was not renewed would be lost by then.
  await within(renewedThrice.promise, "three renewals");
  assert.equal(lease.lost.aborted, false);
  lease.stop();
  assert.equal(lease.lost.aborted, false);
});
