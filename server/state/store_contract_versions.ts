/** The StateStore contract's cases for versions and conditional writes (see `WriteCondition`). */
import assert from "node:assert/strict";
import type { StateStore } from "./store.ts";
import { session, stored, upload } from "./store_contract.ts";

type Register = (condition: string, fn: (store: StateStore) => Promise<void>) => void;

export function versionCases(test: Register): void {
  test("a new record reads back as version 1 and every write bumps it", async (store) => {
    assert.equal(await store.putSession(session({ id: "s1", expiresAt: 10 })), true);
    assert.equal((await store.getSession("s1"))?.version, 1);
    await store.putSession(session({ id: "s1", expiresAt: 10 }));
    assert.equal((await store.getSession("s1"))?.version, 2);
    assert.deepEqual((await store.listExpiredSessions(10)).map((s) => s.version), [2]);
    await store.putSession(session({ id: "s1", status: "expired", expiresAt: 10 }));
    assert.deepEqual((await store.listEndedSessions(10)).map((s) => s.version), [3]);

    assert.equal(await store.putUpload(upload({ id: "u1", expiresAt: 10 })), true);
    for (let i = 0; i < 3; i++) await store.putUpload(upload({ id: "u1", expiresAt: 10 }));
    assert.equal((await store.getUpload("u1"))?.version, 4);
    assert.deepEqual((await store.listUploads("s1")).map((u) => u.version), [4]);
    assert.deepEqual((await store.listExpiredUploads(10)).map((u) => u.version), [4]);
  });

  test("a conditional write on the stored version wins and leaves it at +1", async (store) => {
    await store.putUpload(upload({ id: "u1" }));
    await store.putUpload(upload({ id: "u1", offset: 10 }));
    const paused = upload({ id: "u1", offset: 10, status: "paused" });
    assert.equal(await store.putUpload(paused, { ifVersion: 2 }), true);
    assert.deepEqual(await store.getUpload("u1"), stored(paused, 3));

    await store.putSession(session({ id: "s1" }));
    const ended = session({ id: "s1", status: "cancelled", endedAt: 1_500 });
    assert.equal(await store.putSession(ended, { ifVersion: 1 }), true);
    assert.deepEqual(await store.getSession("s1"), stored(ended, 2));
    assert.deepEqual((await store.listEndedSessions(Number.MAX_SAFE_INTEGER)).map((s) => s.id), [
      "s1",
    ]);
  });

  test("a conditional write on a stale version loses and changes nothing", async (store) => {
    const paused = upload({ id: "u1", status: "paused", expiresAt: 10 });
    await store.putUpload(upload({ id: "u1", expiresAt: 10 }));
    await store.putUpload(paused);
    // The lapsed writer read version 1, before the pause: its checkpoint must not land.
    const stale = upload({ id: "u1", sessionId: "s2", offset: 512, status: "uploading" });
    assert.equal(await store.putUpload({ ...stale, version: 1 }, { ifVersion: 1 }), false);
    assert.deepEqual(await store.getUpload("u1"), stored(paused, 2));
    // Nor may its indexed copies (session, status, expiry) move.
    assert.deepEqual(await store.listUploads("s2"), []);
    assert.deepEqual((await store.listUploads("s1")).map((u) => u.id), ["u1"]);

    await store.putSession(session({ id: "s1", expiresAt: 10 }));
    await store.putSession(session({ id: "s1", expiresAt: 10 }));
    const ended = session({ id: "s1", status: "completed", expiresAt: 10 });
    assert.equal(await store.putSession(ended, { ifVersion: 1 }), false);
    assert.deepEqual(await store.getSession("s1"), stored(session({ id: "s1", expiresAt: 10 }), 2));
    assert.deepEqual(await store.listEndedSessions(10), []);
    assert.deepEqual((await store.listExpiredSessions(10)).map((s) => s.id), ["s1"]);
  });

  test("ifVersion 0 creates only when there is no record", async (store) => {
    assert.equal(await store.putUpload(upload({ id: "u1" }), { ifVersion: 0 }), true);
    assert.deepEqual(await store.getUpload("u1"), stored(upload({ id: "u1" })));
    assert.equal(await store.putUpload(upload({ id: "u1", offset: 9 }), { ifVersion: 0 }), false);
    assert.deepEqual(await store.getUpload("u1"), stored(upload({ id: "u1" })));

    assert.equal(await store.putSession(session({ id: "s1" }), { ifVersion: 0 }), true);
    const other = session({ id: "s1", status: "cancelled" });
    assert.equal(await store.putSession(other, { ifVersion: 0 }), false);
    assert.deepEqual(await store.getSession("s1"), stored(session({ id: "s1" })));
  });

  test("a conditional write on a missing record with ifVersion > 0 loses", async (store) => {
    assert.equal(await store.putUpload(upload({ id: "u1" }), { ifVersion: 1 }), false);
    assert.equal(await store.getUpload("u1"), null);
    assert.deepEqual(await store.listUploads("s1"), []);
    assert.equal(await store.putSession(session({ id: "s1" }), { ifVersion: 3 }), false);
    assert.equal(await store.getSession("s1"), null);
  });

  test("two writers racing on the same version: exactly one wins", async (store) => {
    await store.putUpload(upload({ id: "u1" }));
    const pause = upload({ id: "u1", status: "paused" });
    const checkpoint = upload({ id: "u1", status: "uploading", offset: 4_096 });
    const results = await Promise.all([
      store.putUpload(pause, { ifVersion: 1 }),
      store.putUpload(checkpoint, { ifVersion: 1 }),
    ]);
    assert.equal(results.filter(Boolean).length, 1, `results ${results}`);
    const winner = results[0] ? pause : checkpoint;
    assert.deepEqual(await store.getUpload("u1"), stored(winner, 2));

    // Creation races the same way.
    const created = await Promise.all([
      store.putSession(session({ id: "s9", clientType: "web" }), { ifVersion: 0 }),
      store.putSession(session({ id: "s9", clientType: "mobile" }), { ifVersion: 0 }),
    ]);
    assert.equal(created.filter(Boolean).length, 1, `results ${created}`);
    assert.equal((await store.getSession("s9"))?.clientType, created[0] ? "web" : "mobile");
  });

  test("a record's own version field is ignored on write", async (store) => {
    await store.putUpload({ ...upload({ id: "u1" }), version: 41 });
    assert.equal((await store.getUpload("u1"))?.version, 1);
    const read = (await store.getUpload("u1"))!;
    // A spread of a read carries its version along; only ifVersion makes a write conditional.
    assert.equal(await store.putUpload({ ...read, offset: 1, version: 7 }), true);
    assert.deepEqual(await store.getUpload("u1"), stored(upload({ id: "u1", offset: 1 }), 2));
  });

  test("conditional deletes", async (store) => {
    await store.putUpload(upload({ id: "u1", expiresAt: 10 }));
    await store.putUpload(upload({ id: "u1", expiresAt: 10 }));
    assert.equal(await store.deleteUpload("u1", { ifVersion: 1 }), false);
    assert.equal(await store.deleteUpload("u1", { ifVersion: 0 }), false);
    assert.equal((await store.getUpload("u1"))?.version, 2);
    assert.equal(await store.deleteUpload("u1", { ifVersion: 2 }), true);
    assert.equal(await store.getUpload("u1"), null);
    assert.deepEqual(await store.listUploads("s1"), []);
    assert.deepEqual(await store.listExpiredUploads(10), []);
    assert.equal(await store.deleteUpload("u1", { ifVersion: 0 }), true);
    assert.equal(await store.deleteUpload("u1", { ifVersion: 2 }), false);
    assert.equal(await store.deleteUpload("u1"), true);

    await store.putSession(session({ id: "s1", expiresAt: 10 }));
    assert.equal(await store.deleteSession("s1", { ifVersion: 2 }), false);
    assert.deepEqual((await store.listExpiredSessions(10)).map((s) => s.id), ["s1"]);
    assert.equal(await store.deleteSession("s1", { ifVersion: 1 }), true);
    assert.equal(await store.getSession("s1"), null);
    assert.deepEqual(await store.listExpiredSessions(10), []);
  });

  test("a recreated record starts again at version 1", async (store) => {
    await store.putUpload(upload({ id: "u1" }));
    await store.putUpload(upload({ id: "u1" }));
    await store.deleteUpload("u1");
    assert.equal(await store.putUpload(upload({ id: "u1" }), { ifVersion: 0 }), true);
    assert.equal((await store.getUpload("u1"))?.version, 1);
  });

  test("an ifVersion no store could hold is rejected", async (store) => {
    for (const ifVersion of [-1, 1.5, Number.NaN]) {
      await assert.rejects(store.putUpload(upload({ id: "u1" }), { ifVersion }), RangeError);
      await assert.rejects(store.putSession(session({ id: "s1" }), { ifVersion }), RangeError);
      await assert.rejects(store.deleteUpload("u1", { ifVersion }), RangeError);
    }
    assert.equal(await store.getUpload("u1"), null);
  });
}
