import assert from "node:assert/strict";
import type { SessionRecord, StateStore, UploadRecord } from "./store.ts";
import { versionCases } from "./store_contract_versions.ts";

export type MakeStore = () => Promise<StateStore> | StateStore;
type Case = { condition: string; fn: (store: StateStore) => Promise<void> };

/** Registers the behaviour every StateStore must share; each case gets a fresh store. */
export function runStateStoreContract(name: string, make: MakeStore): void {
  for (const { condition, fn } of contractCases()) {
    Deno.test(`StateStore ${name} - ${condition}`, () => runCase(make, fn));
  }
}

/** The same contract as steps of one test, for a store whose backend the test starts once
 * (a redis-server) and stops at its end. */
export async function runStateStoreContractSteps(
  t: Deno.TestContext,
  make: MakeStore,
): Promise<void> {
  for (const { condition, fn } of contractCases()) {
    await t.step(condition, () => runCase(make, fn));
  }
}

async function runCase(make: MakeStore, fn: Case["fn"]): Promise<void> {
  const store = await make();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

function contractCases(): Case[] {
  const cases: Case[] = [];
  const test = (condition: string, fn: Case["fn"]) => cases.push({ condition, fn });
  versionCases(test);

  test("session put/get roundtrip", async (store) => {
    const record = session({ id: "s1" });
    await store.putSession(record);
    assert.deepEqual(await store.getSession("s1"), stored(record));
  });

  test("upload put/get roundtrip", async (store) => {
    const record = upload({ id: "u1" });
    await store.putUpload(record);
    assert.deepEqual(await store.getUpload("u1"), stored(record));
  });

  test("get of a missing id is null", async (store) => {
    assert.equal(await store.getSession("nope"), null);
    assert.equal(await store.getUpload("nope"), null);
  });

  test("put overwrites the previous record", async (store) => {
    await store.putSession(session({ id: "s1" }));
    const ended = session({ id: "s1", status: "completed", endedAt: 5_000 });
    await store.putSession(ended);
    assert.deepEqual(await store.getSession("s1"), stored(ended, 2));

    await store.putUpload(upload({ id: "u1" }));
    const moved = upload({ id: "u1", sessionId: "s2", offset: 512, status: "uploading" });
    await store.putUpload(moved);
    assert.deepEqual(await store.getUpload("u1"), stored(moved, 2));
    // The indexed copy of session_id must follow the update too.
    assert.deepEqual(await store.listUploads("s1"), []);
    assert.deepEqual(await store.listUploads("s2"), [stored(moved, 2)]);
  });

  test("listUploads filters by session and orders oldest first", async (store) => {
    // Inserted out of order; "b" and "c" tie on createdAt, so id breaks the tie.
    await store.putUpload(upload({ id: "c", sessionId: "s1", createdAt: 200 }));
    await store.putUpload(upload({ id: "d", sessionId: "s1", createdAt: 300 }));
    await store.putUpload(upload({ id: "a", sessionId: "s1", createdAt: 100 }));
    await store.putUpload(upload({ id: "b", sessionId: "s1", createdAt: 200 }));
    await store.putUpload(upload({ id: "x", sessionId: "s2", createdAt: 50 }));
    await store.putUpload(upload({ id: "y", sessionId: null, createdAt: 50 }));

    const ids = (await store.listUploads("s1")).map((u) => u.id);
    assert.deepEqual(ids, ["a", "b", "c", "d"]);
    assert.deepEqual(await store.listUploads("none"), []);
  });

  test("listExpiredSessions honours status and time", async (store) => {
    await store.putSession(session({ id: "past", expiresAt: 900 }));
    await store.putSession(session({ id: "now", expiresAt: 1_000 }));
    await store.putSession(session({ id: "future", expiresAt: 1_001 }));
    await store.putSession(session({ id: "done", status: "completed", expiresAt: 10 }));
    await store.putSession(session({ id: "gone", status: "cancelled", expiresAt: 10 }));
    await store.putSession(session({ id: "old", status: "expired", expiresAt: 10 }));

    const ids = (await store.listExpiredSessions(1_000)).map((s) => s.id).sort();
    assert.deepEqual(ids, ["now", "past"]);
  });

  test("listEndedSessions lists every ended status up to the time, never active", async (store) => {
    await store.putSession(session({ id: "active", expiresAt: 10 }));
    await store.putSession(session({ id: "done", status: "completed", expiresAt: 10 }));
    await store.putSession(session({ id: "gone", status: "cancelled", expiresAt: 1_000 }));
    await store.putSession(session({ id: "old", status: "expired", expiresAt: 500 }));
    await store.putSession(session({ id: "later", status: "expired", expiresAt: 1_001 }));

    const ids = (await store.listEndedSessions(1_000)).map((s) => s.id).sort();
    assert.deepEqual(ids, ["done", "gone", "old"]);
  });

  test("listExpiredUploads honours status and time", async (store) => {
    await store.putUpload(upload({ id: "pending", status: "pending", expiresAt: 900 }));
    await store.putUpload(upload({ id: "uploading", status: "uploading", expiresAt: 1_000 }));
    await store.putUpload(upload({ id: "paused", status: "paused", expiresAt: 10 }));
    await store.putUpload(upload({ id: "failed", status: "failed", expiresAt: 10 }));
    await store.putUpload(upload({ id: "cancelled", status: "cancelled", expiresAt: 10 }));
    await store.putUpload(upload({ id: "completed", status: "completed", expiresAt: 10 }));
    await store.putUpload(upload({ id: "future", status: "uploading", expiresAt: 1_001 }));
    // A finished partial is unfinished work until a final joins it.
    const part = { status: "completed", concat: "partial", expiresAt: 10 } as const;
    await store.putUpload(upload({ id: "open-part", ...part }));
    await store.putUpload(upload({ id: "joined-part", ...part, consumedBy: "final" }));

    const ids = (await store.listExpiredUploads(1_000)).map((u) => u.id).sort();
    assert.deepEqual(ids, ["cancelled", "failed", "open-part", "paused", "pending", "uploading"]);
  });

  test("delete removes only the given record", async (store) => {
    await store.putSession(session({ id: "s1" }));
    await store.putSession(session({ id: "s2" }));
    await store.putUpload(upload({ id: "u1" }));
    await store.putUpload(upload({ id: "u2" }));

    await store.deleteSession("s1");
    await store.deleteUpload("u1");
    // Deleting what is not there is not an error.
    await store.deleteSession("s1");
    await store.deleteUpload("missing");

    assert.equal(await store.getSession("s1"), null);
    assert.equal(await store.getUpload("u1"), null);
    assert.notEqual(await store.getSession("s2"), null);
    assert.notEqual(await store.getUpload("u2"), null);
    assert.deepEqual((await store.listUploads("s1")).map((u) => u.id), ["u2"]);
  });

  test("returned and stored objects are copies", async (store) => {
    const input = session({ id: "s1", announcedFileIds: ["f1"] });
    await store.putSession(input);
    input.status = "cancelled";
    input.announcedFileIds.push("after-put");

    const got = await store.getSession("s1");
    assert.ok(got);
    got.status = "completed";
    got.announcedFileIds.push("after-get");
    const expired = await store.listExpiredSessions(Number.MAX_SAFE_INTEGER);
    expired[0]!.announcedFileIds.push("after-list");
    assert.deepEqual(
      await store.getSession("s1"),
      stored(session({ id: "s1", announcedFileIds: ["f1"] })),
    );

    const original = upload({
      id: "u1",
      parts: ["p1"],
      error: { code: "STORAGE_ERROR", message: "x" },
    });
    const uploadInput = structuredClone(original);
    await store.putUpload(uploadInput);
    uploadInput.offset = 1;
    uploadInput.parts.push("after-put");
    const listed = await store.listUploads("s1");
    listed[0]!.parts.push("p2");
    listed[0]!.error!.message = "changed";
    const fetched = await store.getUpload("u1");
    assert.ok(fetched);
    fetched.offset = 999;
    const stale = await store.listExpiredUploads(Number.MAX_SAFE_INTEGER);
    stale[0]!.parts.length = 0;
    assert.deepEqual(await store.getUpload("u1"), stored(original));
  });

  test("null, array and nested fields roundtrip exactly", async (store) => {
    const withValues = upload({
      id: "full",
      sessionId: "s1",
      category: "scenic",
      size: 4_096,
      concat: "final",
      parts: ["p1", "p2", "p3"],
      startedAt: 1_100,
      completedAt: 1_200,
      storageKey: "scenic/2024/full.jpg",
      error: { code: "STORAGE_ERROR", message: "disk full", details: "ENOSPC" },
      typeChecked: true,
      metadata: "filename ZS5qcGc=,filetype aW1hZ2UvanBlZw==",
    });
    const withNulls = upload({
      id: "bare",
      sessionId: null,
      category: null,
      size: null,
      parts: [],
      startedAt: null,
      completedAt: null,
      storageKey: null,
      error: null,
    });
    const sessionFull = session({ id: "s1", announcedFileIds: ["a", "b"], endedAt: 7_000 });
    const sessionEmpty = session({ id: "s2", announcedFileIds: [], endedAt: null });
    for (const u of [withValues, withNulls]) await store.putUpload(u);
    for (const s of [sessionFull, sessionEmpty]) await store.putSession(s);

    assert.deepEqual(await store.getUpload("full"), stored(withValues));
    assert.deepEqual(await store.getUpload("bare"), stored(withNulls));
    assert.deepEqual(await store.getSession("s1"), stored(sessionFull));
    assert.deepEqual(await store.getSession("s2"), stored(sessionEmpty));
  });
  return cases;
}

/** What a read returns for `record` stored at `version`. */
export function stored<T extends object>(record: T, version = 1): T & { version: number } {
  return { ...record, version };
}

export function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: "s1",
    category: "personal",
    clientType: "web",
    status: "active",
    createdAt: 1_000,
    lastActivity: 1_000,
    expiresAt: 2_000,
    announcedFileIds: [],
    endedAt: null,
    ...overrides,
  };
}

export function upload(overrides: Partial<UploadRecord> = {}): UploadRecord {
  return {
    id: "u1",
    sessionId: "s1",
    category: "personal",
    filename: "photo.jpg",
    filetype: "image/jpeg",
    ext: ".jpg",
    size: 1_024,
    offset: 0,
    status: "pending",
    metadata: "",
    concat: "none",
    parts: [],
    createdAt: 1_000,
    updatedAt: 1_000,
    startedAt: null,
    completedAt: null,
    expiresAt: 2_000,
    storageKey: null,
    retryCount: 0,
    error: null,
    typeChecked: false,
    ...overrides,
  };
}
