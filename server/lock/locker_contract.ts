import assert from "node:assert/strict";
import { within } from "../../tests/support/deadline.ts";
import { type Lock, type Locker, LockLostError, LockTimeoutError } from "./locker.ts";

/** A short wait for cases that expect a timeout; long enough for a free lock to be granted. */
const SHORT_MS = 50;
/** The lease of every case: short, so that a dead holder's keys come back quickly. */
export const CONTRACT_LEASE_MS = 200;

/** One backend (a MemoryLockBackend, a redis-server) and the lockers on it, as nodes. */
export interface LockerBackend {
  /** A new locker on the backend, as on another node, with CONTRACT_LEASE_MS leases. */
  locker(): Promise<Locker>;
  /**
   * Kills a locker's node without releasing anything: its renewals fail or stop, and its
   * releases and release requests no longer reach the backend.
   */
  crash(locker: Locker): Promise<void>;
  close(): Promise<void>;
}

/** Registers the behaviour every Locker must share; each case gets a fresh backend. */
export function runLockerContract(name: string, make: () => Promise<LockerBackend>): void {
  const test = (
    condition: string,
    fn: (locker: Locker, backend: LockerBackend) => Promise<void>,
  ) =>
    Deno.test(`Locker ${name} - ${condition}`, async () => {
      const backend = await make();
      try {
        await fn(await backend.locker(), backend);
      } finally {
        await backend.close();
      }
    });

  test("a held key is not granted again until released", async (locker) => {
    const asked = deferred();
    const first = await locker.acquire("k", { onReleaseRequest: asked.resolve });
    const second = locker.acquire("k");
    // The release request proves the second acquire is queued; it must still be pending.
    const winner = await within(
      Promise.race([asked.promise.then(() => "asked"), second.then(() => "won")]),
      "the release request",
    );
    assert.equal(winner, "asked");
    await first.release();
    await (await second).release();
  });

  test("every waiter is eventually served, one at a time", async (locker) => {
    const holder = await locker.acquire("k");
    let holding = 0;
    const served: string[] = [];
    const waiting = ["b", "c", "d"].map(async (id) => {
      const lock = await locker.acquire("k", { timeoutMs: 10_000 });
      holding++;
      assert.equal(holding, 1, `${id} holds the key alone`);
      served.push(id);
      // Another turn of the event loop while holding, so an overlap would be seen.
      await new Promise((resolve) => setTimeout(resolve, 0));
      holding--;
      await lock.release();
    });
    await holder.release();
    await within(Promise.all(waiting), "every waiter served");
    assert.deepEqual([...served].sort(), ["b", "c", "d"]);
  });

  test("onReleaseRequest is called on the holder, once, when someone waits", async (locker) => {
    let calls = 0;
    const asked = deferred();
    const holder = await locker.acquire("k", {
      onReleaseRequest: () => {
        calls++;
        asked.resolve();
      },
    });
    const second = locker.acquire("k");
    const third = locker.acquire("k");
    await within(asked.promise, "the release request");
    await holder.release();
    const [a, b] = [second, third];
    // Either may win; the other waits for it.
    const first = await within(Promise.race([a, b]), "a waiter served");
    await first.release();
    await (await a).release();
    await (await b).release();
    assert.equal(calls, 1);
  });

  test("whoever inherits the key while others wait is asked too", async (locker) => {
    const holder = await locker.acquire("k");
    const asked: string[] = [];
    const ask = Promise.withResolvers<void>();
    const waiter = (id: string) =>
      locker.acquire("k", {
        timeoutMs: 10_000,
        onReleaseRequest: () => {
          asked.push(id);
          ask.resolve();
        },
      }).then((lock) => ({ id, lock }));
    const waiters = [waiter("b"), waiter("c")];
    await holder.release();
    const winner = await within(Promise.race(waiters), "a waiter served");
    await within(ask.promise, "the new holder asked to let go");
    assert.deepEqual(asked, [winner.id]);
    await winner.lock.release();
    for (const { lock } of await Promise.all(waiters)) await lock.release();
  });

  test("onReleaseRequest is not called without contention", async (locker) => {
    let calls = 0;
    const lock = await locker.acquire("k", { onReleaseRequest: () => calls++ });
    await lock.release();
    await (await locker.acquire("k")).release();
    assert.equal(calls, 0);
  });

  test("waiting past timeoutMs rejects with LockTimeoutError", async (locker) => {
    const holder = await locker.acquire("k");
    await assert.rejects(locker.acquire("k", { timeoutMs: SHORT_MS }), LockTimeoutError);
    await holder.release();
    // The timed-out waiter must not have been handed the key.
    await (await locker.acquire("k", { timeoutMs: SHORT_MS })).release();
  });

  test("an aborted signal rejects the waiter with its reason", async (locker) => {
    const holder = await locker.acquire("k");
    const controller = new AbortController();
    const waiter = locker.acquire("k", { signal: controller.signal });
    const reason = new Error("client went away");
    controller.abort(reason);
    await assert.rejects(waiter, (error) => error === reason);

    // A signal aborted before the call rejects straight away.
    const early = new Error("already gone");
    await assert.rejects(
      locker.acquire("k", { signal: AbortSignal.abort(early) }),
      (error) => error === early,
    );

    await holder.release();
    await (await locker.acquire("k", { timeoutMs: SHORT_MS })).release();
  });

  test("release is idempotent", async (locker) => {
    const first = await locker.acquire("k");
    await first.release();
    const second = await locker.acquire("k", { timeoutMs: SHORT_MS });
    // A stale second release must not free the key for a third party.
    await first.release();
    await assert.rejects(locker.acquire("k", { timeoutMs: SHORT_MS }), LockTimeoutError);
    await second.release();
    await second.release();
    await (await locker.acquire("k", { timeoutMs: SHORT_MS })).release();
  });

  test("different keys are independent", async (locker) => {
    let asked = 0;
    const a = await locker.acquire("a", { onReleaseRequest: () => asked++ });
    const b: Lock = await locker.acquire("b", { timeoutMs: SHORT_MS });
    await b.release();
    await a.release();
    assert.equal(asked, 0);
  });

  test("fences of a key strictly increase", async (locker) => {
    const fences: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = await locker.acquire("k");
      fences.push(lock.fence);
      await (await locker.acquire("other")).release();
      await lock.release();
    }
    const tried = await locker.tryAcquire("k");
    assert.ok(tried);
    fences.push(tried.fence);
    await tried.release();
    for (let i = 1; i < fences.length; i++) {
      assert.ok(fences[i]! > fences[i - 1]!, `fences ${fences.join(", ")}`);
    }
  });

  test("tryAcquire: the lock if free, else null at once, without asking the holder", async (locker) => {
    let asked = 0;
    const askedOnce = deferred();
    const lock = await locker.tryAcquire("k", {
      onReleaseRequest: () => {
        asked++;
        askedOnce.resolve();
      },
    });
    assert.ok(lock, "a free key is granted");
    assert.equal(await locker.tryAcquire("k"), null);
    // A waiter does ask, which proves the asking works and tryAcquire did not use it.
    const waiting = locker.acquire("k", { timeoutMs: 10_000 });
    await within(askedOnce.promise, "the waiter's release request");
    assert.equal(asked, 1);
    await lock.release();
    await (await within(waiting, "the waiter served")).release();
    const again = await locker.tryAcquire("k");
    assert.ok(again, "free again after release");
    await again.release();
  });

  test("a holder keeps the key past several leases by renewing it", async (locker, backend) => {
    const lock = await locker.acquire("k");
    const other = await backend.locker();
    // Waiting five leases for a key whose holder renews must time out.
    await assert.rejects(
      other.acquire("k", { timeoutMs: CONTRACT_LEASE_MS * 5 }),
      LockTimeoutError,
    );
    assert.equal(lock.lost.aborted, false);
    assert.equal(await other.tryAcquire("k"), null);
    await lock.release();
    const next = await other.tryAcquire("k");
    assert.ok(next, "granted after release");
    assert.ok(next.fence > lock.fence);
    await next.release();
  });

  test(
    "two lockers on one backend: one holder, release requests cross",
    async (locker, backend) => {
      const other = await backend.locker();
      const asked = deferred();
      const held = await locker.acquire("k", { onReleaseRequest: asked.resolve });
      assert.equal(await other.tryAcquire("k"), null);
      const waiting = other.acquire("k", { timeoutMs: 10_000 });
      await within(asked.promise, "the other node's release request");
      await held.release();
      const lock = await within(waiting, "the other node served after release");
      assert.ok(lock.fence > held.fence);
      assert.equal(await locker.tryAcquire("k"), null);
      await lock.release();
      const back = await locker.tryAcquire("k");
      assert.ok(back);
      assert.ok(back.fence > lock.fence);
      await back.release();
    },
  );

  test(
    "a holder that died: its key comes back after the lease, with a greater fence",
    async (locker, backend) => {
      const other = await backend.locker();
      let asked = 0;
      const dead = await locker.acquire("k", { onReleaseRequest: () => asked++ });
      await backend.crash(locker);
      const lock = await within(
        other.acquire("k", { timeoutMs: 20 * CONTRACT_LEASE_MS }),
        "the dead holder's key",
      );
      assert.ok(lock.fence > dead.fence, `fence ${lock.fence} > ${dead.fence}`);
      // The dead node, if it still runs, is told before it could write over the new holder.
      const reason = await within(aborted(dead.lost), "the dead holder's lost signal");
      assert.ok(reason instanceof LockLostError, String(reason));
      assert.equal(asked, 0, "a dead node hears no release request");
      // Its late release does not free the new holder's key.
      await dead.release().catch(() => {});
      assert.equal(await other.tryAcquire("k"), null);
      await lock.release();
    },
  );
}

function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(signal.reason), { once: true })
  );
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, resolve: () => resolve() };
}
