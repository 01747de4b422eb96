import assert from "node:assert/strict";
import { MemoryStore } from "./memory_store.ts";
import { SqliteStore } from "./sqlite_store.ts";
import { DatabaseSync } from "node:sqlite";
import { runStateStoreContract, session, stored, upload } from "./store_contract.ts";

/** Deletes the database with its WAL side files. */
async function removeDb(path: string): Promise<void> {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    await Deno.remove(file).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/** A SqliteStore on its own temp file, which closing also deletes. */
class TempSqliteStore extends SqliteStore {
  #path: string;

  constructor(path: string) {
    super(path);
    this.#path = path;
  }

  override async close(): Promise<void> {
    await super.close();
    await removeDb(this.#path);
  }
}

runStateStoreContract("MemoryStore", () => new MemoryStore());
runStateStoreContract(
  "SqliteStore",
  async () => new TempSqliteStore(await Deno.makeTempFile({ suffix: ".db" })),
);

Deno.test("SqliteStore - records survive close and reopen", async () => {
  const path = await Deno.makeTempFile({ suffix: ".db" });
  try {
    const record = upload({ id: "u1", offset: 64 });
    const first = new SqliteStore(path);
    await first.putUpload(record);
    await first.close();

    const second = new SqliteStore(path);
    try {
      assert.deepEqual(await second.getUpload("u1"), stored(record));
    } finally {
      await second.close();
    }
  } finally {
    await removeDb(path);
  }
});

Deno.test("SqliteStore - a resolved putUpload survives kill -9", async () => {
  const path = await Deno.makeTempFile({ suffix: ".db" });
  const writer = new URL("./testdata/sqlite_writer.ts", import.meta.url);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", writer.pathname, path],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();

    let output = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (!output.includes("ok")) {
        const { value, done } = await reader.read();
        if (done) break;
        output += value;
      }
    } finally {
      // Killing before the status is awaited is the point: the writer gets no clean exit.
      child.kill("SIGKILL");
      await reader.cancel();
    }
    const status = await child.status;
    assert.equal(output.trim(), "ok", "the writer did not report its write");
    assert.equal(status.signal, "SIGKILL");

    const store = new SqliteStore(path);
    try {
      assert.equal((await store.getUpload("durable"))?.offset, 12345);
    } finally {
      await store.close();
    }
  } finally {
    await removeDb(path);
  }
});

/** The schema and writes of main at 1966ed8, before versions. */
const SCHEMA_1966ED8 = `
CREATE TABLE sessions (id TEXT PRIMARY KEY, status TEXT NOT NULL, expires_at INTEGER NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE TABLE uploads (id TEXT PRIMARY KEY, session_id TEXT, status TEXT NOT NULL,
  expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX uploads_session_id ON uploads (session_id);
CREATE INDEX uploads_expires_at ON uploads (expires_at);
`;

Deno.test("SqliteStore - a state.db made before versions opens with its rows at version 1", async () => {
  const path = await Deno.makeTempFile({ suffix: ".db" });
  try {
    const old = new DatabaseSync(path);
    old.exec("PRAGMA journal_mode=WAL");
    old.exec(SCHEMA_1966ED8);
    const s1 = session({ id: "s1", expiresAt: 10 });
    const u1 = upload({ id: "u1", offset: 64, expiresAt: 10 });
    old.prepare("INSERT INTO sessions VALUES (?, ?, ?, ?)")
      .run(s1.id, s1.status, s1.expiresAt, JSON.stringify(s1));
    old.prepare("INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?)")
      .run(u1.id, u1.sessionId, u1.status, u1.expiresAt, u1.createdAt, JSON.stringify(u1));
    old.close();

    const store = new SqliteStore(path);
    try {
      assert.deepEqual(await store.getSession("s1"), stored(s1));
      assert.deepEqual(await store.getUpload("u1"), stored(u1));
      assert.deepEqual(await store.listExpiredUploads(10), [stored(u1)]);
      // Existing rows are stored records: "only if absent" must not overwrite them.
      assert.equal(await store.putUpload(upload({ id: "u1" }), { ifVersion: 0 }), false);
      const paused = upload({ id: "u1", offset: 64, status: "paused", expiresAt: 10 });
      assert.equal(await store.putUpload(paused, { ifVersion: 1 }), true);
      assert.deepEqual(await store.getUpload("u1"), stored(paused, 2));
      assert.equal(await store.putSession(s1, { ifVersion: 2 }), false);
      await store.putUpload(upload({ id: "u2" }));
      assert.deepEqual((await store.listUploads("s1")).map((u) => [u.id, u.version]), [
        ["u1", 2],
        ["u2", 1],
      ]);
    } finally {
      await store.close();
    }
    // Reopening a migrated file is a no-op.
    const again = new SqliteStore(path);
    try {
      assert.equal((await again.getUpload("u1"))?.version, 2);
    } finally {
      await again.close();
    }
  } finally {
    await removeDb(path);
  }
});
