import assert from "node:assert/strict";
import { LocalKeyValueStore, type StorageLike } from "./local_store.ts";
import { MemoryKeyValueStore } from "./memory_store.ts";
import { fingerprint, ResumeStore } from "./resume_store.ts";
import type { KeyValueStore } from "./types.ts";

const file = new File([new Uint8Array(10)], "a.jpg", { type: "image/jpeg", lastModified: 42 });
const entry = (sessionId: string) => ({
  uploadUrl: `http://x/api/uploads/${sessionId}-u`,
  fileId: `${sessionId}-u`,
  sessionId,
  token: "t",
});

Deno.test("resume store - by session, by last session, removed, under the h5-uploader: prefix", () => {
  const kv = new MemoryKeyValueStore();
  const store = new ResumeStore(kv, "http://x");
  const fp = fingerprint(file);
  assert.equal(fp, "a.jpg-10-42-image/jpeg");
  assert.equal(store.get(fp), null);
  store.set(fp, entry("s1"));
  store.set(fp, entry("s2"));
  assert.deepEqual(store.get(fp, "s1"), entry("s1"));
  assert.deepEqual(store.get(fp), entry("s2"), "no session given: the last one");
  assert.ok([...kv.map.keys()].every((k) => k.startsWith("h5-uploader:")));
  assert.equal(new ResumeStore(kv, "http://other").get(fp), null, "per endpoint");
  store.remove(fp, "s2");
  assert.equal(store.get(fp), null);
  assert.deepEqual(store.get(fp, "s1"), entry("s1"));
  store.remove(fp, "s1");
  assert.equal(kv.map.size, 0);
});

Deno.test("resume store - corrupt entries and throwing stores are survived", () => {
  const kv = new MemoryKeyValueStore();
  const store = new ResumeStore(kv, "http://x");
  const fp = fingerprint(file);
  kv.set(`h5-uploader:http://x|${fp}`, "s1");
  kv.set(`h5-uploader:http://x|s1|${fp}`, "{not json");
  assert.equal(store.get(fp), null);
  const broken: KeyValueStore = {
    get: () => {
      throw new Error("denied");
    },
    set: () => {
      throw new Error("quota");
    },
    remove: () => {
      throw new Error("denied");
    },
  };
  const safe = new ResumeStore(broken, "http://x");
  safe.set(fp, entry("s1"));
  safe.remove(fp, "s1");
  assert.equal(safe.get(fp), null);
});

Deno.test("local store - uses the storage, and memory where it throws (Safari private mode)", () => {
  const map = new Map<string, string>();
  const storage: StorageLike = {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
  const ok = new LocalKeyValueStore(storage);
  ok.set("k", "v");
  assert.equal(map.get("k"), "v");
  assert.equal(ok.get("k"), "v");
  ok.remove("k");
  assert.equal(ok.get("k"), null);

  const quota = () => {
    throw new DOMException("QuotaExceededError");
  };
  const broken = new LocalKeyValueStore({ getItem: quota, setItem: quota, removeItem: quota });
  broken.set("k", "v");
  assert.equal(broken.get("k"), "v");
  broken.remove("k");
  assert.equal(broken.get("k"), null);
});
