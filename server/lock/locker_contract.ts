import assert from "node:assert/strict";
import { type Lock, type Locker, LockTimeoutError } from "./locker.ts";

/** A short wait for cases that expect a timeout; long enough for a free lock to be granted. */
const SHORT_MS = 50;

/** Registers the behaviour every Locker must share; each case gets a fresh locker. */
export function runLockerContract(name: string, make: () => Promise<Locker> | Locker): void {
  const test = (condition: string, fn: (locker: Locker) => Promise<void>) =>
    Deno.test(`Locker ${name} - ${condition}`, async () => fn(await make()));

  test("a held key is not granted again until released", async (locker) => {
    const asked = deferred();
    const first = await locker.acquire("k", { onReleaseRequest: asked.resolve });
    const second = locker.acquire("k");
    // The release request proves the second acquire is queued; it must still be pending.
    const winner = await Promise.race([
      asked.promise.then(() => "asked"),
      second.then(() => "won"),
    ]);
    assert.equal(winner, "asked");
    await first.release();
    await (await second).release();
  });

  test("release hands the key to waiters in FIFO order", async (locker) => {
    const holder = await locker.acquire("k");
    const order: string[] = [];
    const waiting = ["b", "c", "d"].map((id) =>
      locker.acquire("k").then((lock) => {
        order.push(id);
        return lock;
      })
    );
    const [b, c, d] = waiting;
    await holder.release();
    const lockB = await b!;
    assert.deepEqual(order, ["b"]);
    await lockB.release();
    const lockC = await c!;
    assert.deepEqual(order, ["b", "c"]);
    await lockC.release();
    await (await d!).release();
    assert.deepEqual(order, ["b", "c", "d"]);
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
    await asked.promise;
    await holder.release();
    await (await second).release();
    await (await third).release();
    assert.equal(calls, 1);
  });

  test("a waiter that inherits the key while others queue is asked too", async (locker) => {
    const holder = await locker.acquire("k");
    const asked = deferred();
    const second = locker.acquire("k", { onReleaseRequest: asked.resolve });
    const third = locker.acquire("k");
    await holder.release();
    const lock = await second;
    await asked.promise;
    await lock.release();
    await (await third).release();
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
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, resolve: () => resolve() };
}
