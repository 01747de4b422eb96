/**
 * The element's properties, attributes and methods under Deno (Lit's DOM shim: no
 * rendering here; the view is covered by the browser tests).
 */
import assert from "node:assert/strict";
import { H5Uploader } from "./h5_uploader.ts";
import { FakeEngine, file, snapshot } from "./test_support.ts";

class TestUploader extends H5Uploader {
  static engines: FakeEngine[] = [];
  static override createEngine = (config: ConstructorParameters<typeof FakeEngine>[0]) => {
    const engine = new FakeEngine(config);
    TestUploader.engines.push(engine);
    return engine;
  };
}
customElements.define("test-uploader", TestUploader);

function make(attributes: Record<string, string> = {}) {
  const el = new TestUploader();
  for (const [name, value] of Object.entries(attributes)) {
    el.attributeChangedCallback(name, null, value);
  }
  return el;
}

const jpeg = (name = "a.jpg") => new File(["x"], name, { type: "image/jpeg" });

Deno.test("h5-uploader - attributes become the engine's options", () => {
  const el = make({
    endpoint: "https://uploads.example/",
    category: "scenic",
    accept: "image/*",
    "max-files": "3",
    "max-size": "20MB",
    "chunk-size": "4MiB",
    "stall-timeout": "3.5",
    "auto-start": "",
    "client-type": "mobile",
    "session-id": "s-1",
    token: "t-1",
  });
  el.addFiles([jpeg()]);
  assert.deepEqual(TestUploader.engines.at(-1)!.config, {
    endpoint: "https://uploads.example",
    category: "scenic",
    clientType: "mobile",
    autoStart: true,
    sessionId: "s-1",
    token: "t-1",
    chunkSize: 4 * 2 ** 20,
    stallTimeoutMs: 3500,
    accept: "image/*",
    maxFiles: 3,
    maxSize: 20_000_000,
  });
});

Deno.test("h5-uploader - defaults: personal, web without a coarse pointer, no session", () => {
  const el = make({ endpoint: "http://localhost:8005" });
  assert.equal(el.category, "personal");
  assert.equal(el.multiple, false);
  el.addFiles([jpeg()]);
  const config = TestUploader.engines.at(-1)!.config;
  assert.equal(config.category, "personal");
  assert.equal(config.clientType, "web");
  assert.equal(config.sessionId, undefined);
  assert.equal(config.token, undefined);
  assert.equal(config.autoStart, false);
  assert.equal(el.sessionId, null);
});

Deno.test("h5-uploader - an unknown category falls back to personal", () => {
  const el = make({ endpoint: "http://x", category: "other" });
  el.addFiles([jpeg()]);
  assert.equal(TestUploader.engines.at(-1)!.config.category, "personal");
});

Deno.test("h5-uploader - methods drive the engine", async () => {
  const el = make({ endpoint: "http://x" });
  const { added } = el.addFiles([jpeg("a.jpg"), jpeg("b.jpg")]);
  assert.equal(added.length, 2);
  const engine = TestUploader.engines.at(-1)!;
  await el.start();
  el.pauseAll();
  el.resumeAll();
  el.cancelAll();
  assert.deepEqual(engine.calls, ["start", "pause *", "resume *", "cancel *"]);
});

Deno.test("h5-uploader - read-only state mirrors the engine", () => {
  const el = make({ endpoint: "http://x", "session-id": "given", token: "t" });
  assert.equal(el.sessionId, "given");
  el.addFiles([jpeg()]);
  const engine = TestUploader.engines.at(-1)!;
  engine.set(snapshot([
    file("a", { status: "completed", progress: 1, uploadPath: "personal/2025/a.jpg" }),
    file("b", { status: "uploading", progress: 0.5 }),
    file("c", { status: "completed", progress: 1, uploadPath: "personal/2025/c.jpg" }),
  ], { sessionId: "s-2", connection: "polling" }));
  assert.equal(el.files.length, 3);
  assert.equal(el.state, engine.snapshot);
  assert.equal(el.connection, "polling");
  assert.equal(el.sessionId, "s-2");
  assert.deepEqual(el.uploadedIds, ["a", "c"]);
  assert.deepEqual(el.uploadPaths, ["personal/2025/a.jpg", "personal/2025/c.jpg"]);
  assert.equal(el.busy, true);
  assert.equal(el.complete, false);
});

Deno.test("h5-uploader - formResetCallback cancels and clears", () => {
  const el = make({ endpoint: "http://x" });
  el.addFiles([jpeg()]);
  el.formResetCallback();
  assert.deepEqual(TestUploader.engines.at(-1)!.calls, ["cancel *", "remove f0"]);
  assert.equal(el.files.length, 0);
});

Deno.test("h5-uploader - observes every documented attribute", () => {
  const observed = (TestUploader as unknown as { observedAttributes: string[] }).observedAttributes;
  assert.deepEqual([...observed].sort(), [
    "accept",
    "auto-start",
    "capture",
    "category",
    "chunk-size",
    "client-type",
    "endpoint",
    "lang",
    "max-files",
    "max-size",
    "multiple",
    "name",
    "persist-max-size",
    "required",
    "session-id",
    "stall-timeout",
    "token",
  ]);
});

Deno.test("h5-uploader - connection: offline as soon as the browser says so, else the engine's", () => {
  const el = make({ endpoint: "http://x" });
  el.addFiles([jpeg()]);
  const engine = TestUploader.engines.at(-1)!;
  engine.set(snapshot([file("a", { status: "uploading" })], { connection: "reconnecting" }));
  assert.equal(el.connection, "reconnecting");
  Object.defineProperty(navigator, "onLine", { value: false, configurable: true });
  try {
    assert.equal(el.connection, "offline");
  } finally {
    delete (navigator as { onLine?: boolean }).onLine;
  }
  engine.set(snapshot([file("a", { status: "uploading" })], { connection: "polling" }));
  assert.equal(el.connection, "polling");
});
