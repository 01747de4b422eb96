import assert from "node:assert/strict";
import { AppError } from "../errors.ts";
import { MemoryStore } from "../state/memory_store.ts";
import type { SessionRecord } from "../state/store.ts";
import { rewrite, sessionTable, WRITE_ATTEMPTS } from "./conditional.ts";

function session(id: string): SessionRecord {
  return {
    id,
    category: "personal",
    clientType: "web",
    status: "active",
    createdAt: 0,
    lastActivity: 0,
    expiresAt: 1000,
    announcedFileIds: [],
    endedAt: null,
  };
}

Deno.test("rewrite - a conflict reads again and decides from the newer record", async () => {
  const store = new MemoryStore();
  await store.putSession(session("s"));
  const stale = (await store.getSession("s"))!;
  // Another node writes after our read: its change must survive ours.
  await store.putSession({ ...stale, announcedFileIds: ["other"] });
  const seen: string[][] = [];
  const result = await rewrite(sessionTable(store), "s", (s) => {
    seen.push(s.announcedFileIds);
    return { ...s, announcedFileIds: [...s.announcedFileIds, "mine"] };
  }, stale);
  assert.deepEqual(seen, [[], ["other"]]);
  assert.equal(result.changed, true);
  assert.deepEqual((await store.getSession("s"))?.announcedFileIds, ["other", "mine"]);
  assert.equal(result.record?.version, (await store.getSession("s"))?.version);
});

Deno.test("rewrite - a record that keeps changing gives up with 423 UPLOAD_LOCKED", async () => {
  const store = new MemoryStore();
  await store.putSession(session("s"));
  let calls = 0;
  await assert.rejects(
    rewrite(sessionTable(store), "s", async (s) => {
      calls++;
      await store.putSession({ ...s, lastActivity: calls }); // someone always gets there first
      return { ...s, expiresAt: 5 };
    }),
    (error: unknown) => error instanceof AppError && error.code === "UPLOAD_LOCKED",
  );
  assert.equal(calls, WRITE_ATTEMPTS);
});

Deno.test("rewrite - null keeps the record and says nothing changed", async () => {
  const store = new MemoryStore();
  await store.putSession(session("s"));
  const result = await rewrite(sessionTable(store), "s", () => null);
  assert.equal(result.changed, false);
  assert.equal(result.record?.version, 1);
});
