import assert from "node:assert/strict";
import { MemoryStore } from "./memory_store.ts";
import { SqliteStore } from "./sqlite_store.ts";
import { runStateStoreContract, upload } from "./store_contract.ts";

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
      assert.deepEqual(await second.getUpload("u1"), record);
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
