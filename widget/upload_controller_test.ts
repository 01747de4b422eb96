import assert from "node:assert/strict";
import {
  H5SessionCompleteEvent,
  H5UploadCompleteEvent,
  H5UploadErrorEvent,
  H5UploadProgressEvent,
  H5UploadStartEvent,
} from "./events.ts";
import type { Milestone } from "./milestones.ts";
import { FakeEngine, FakeHost, file, snapshot } from "./test_support.ts";
import { type EngineConfig, UploadController } from "./upload_controller.ts";

function setup(config: Partial<EngineConfig> = {}) {
  const host = new FakeHost();
  const engines: FakeEngine[] = [];
  const announced: Milestone[][] = [];
  let current: EngineConfig = {
    endpoint: "https://uploads.example",
    category: "personal",
    clientType: "web",
    ...config,
  };
  const controller = new UploadController(host, {
    config: () => current,
    createEngine: (c) => {
      const engine = new FakeEngine(c);
      engines.push(engine);
      return engine;
    },
    announce: (m) => announced.push(m),
  });
  const engine = () => engines.at(-1)!;
  const reconfigure = (patch: Partial<EngineConfig>) => (current = { ...current, ...patch });
  return {
    host,
    controller,
    engines,
    engine,
    announced,
    reconfigure,
    /** Removes the host, so no listener outlives the test. */
    async [Symbol.asyncDispose]() {
      host.isConnected = false;
      controller.hostDisconnected();
      await Promise.resolve();
    },
  };
}

const image = (name = "a.jpg") => new File([new Uint8Array(10)], name, { type: "image/jpeg" });

Deno.test("upload controller - registers with its host and makes the engine on first update", async () => {
  await using t = setup({ category: "scenic" });
  const { host, controller, engines } = t;
  assert.deepEqual(host.controllers, [controller]);
  assert.equal(engines.length, 0);
  controller.hostUpdate();
  assert.equal(engines.length, 1);
  assert.equal(engines[0]!.config.category, "scenic");
  controller.hostUpdate();
  assert.equal(engines.length, 1, "one engine per configuration");
});

Deno.test("upload controller - every snapshot reaches the host, with milestones", async () => {
  await using t = setup();
  const { host, controller, engine, announced } = t;
  controller.hostUpdate();
  const before = host.updates;
  controller.addFiles([image()]);
  assert.equal(controller.snapshot.files.length, 1);
  assert.ok(host.updates > before);
  assert.deepEqual(announced.at(-1), [{ kind: "added", count: 1 }]);
  const next = snapshot([file("f0", { status: "uploading", progress: 0.5 })]);
  engine().set(next);
  assert.equal(controller.snapshot, next);
  assert.deepEqual(announced.at(-1), [{ kind: "progress", percent: 50 }]);
});

Deno.test("upload controller - engine events become bubbling, composed DOM events", async () => {
  await using t = setup();
  const { host, controller, engine } = t;
  controller.hostUpdate();
  const f = file("a", { status: "completed", progress: 1, uploadPath: "personal/a.jpg" });
  const totals = snapshot([f]).totals;
  engine().emit("upload-start", { file: f });
  engine().emit("upload-progress", { file: f, totals });
  engine().emit("upload-complete", { file: f, uploadPath: "personal/a.jpg" });
  engine().emit("upload-error", {
    file: f,
    error: { code: "NETWORK_ERROR", message: "offline" },
    willRetry: true,
  });
  engine().emit("session-complete", {
    sessionId: "s1",
    files: [f, file("b", { status: "cancelled" })],
    uploadPaths: ["personal/a.jpg"],
  });
  const classes = [
    H5UploadStartEvent,
    H5UploadProgressEvent,
    H5UploadCompleteEvent,
    H5UploadErrorEvent,
    H5SessionCompleteEvent,
  ];
  assert.deepEqual(host.events.map((e) => e.constructor), classes);
  for (const event of host.events) {
    assert.ok(event.bubbles && event.composed, event.type);
    assert.match(event.type, /^h5-/);
  }
  assert.equal((host.events[2] as H5UploadCompleteEvent).detail.uploadPath, "personal/a.jpg");
  assert.equal((host.events[3] as H5UploadErrorEvent).detail.willRetry, true);
  assert.deepEqual((host.events[4] as H5SessionCompleteEvent).detail.fileIds, ["a"]);
});

Deno.test("upload controller - image previews are object URLs, released when done", async () => {
  await using t = setup();
  const { controller, engine } = t;
  const revoked: string[] = [];
  const revoke = URL.revokeObjectURL;
  URL.revokeObjectURL = (url) => {
    revoked.push(url);
    revoke(url);
  };
  try {
    controller.hostUpdate();
    controller.addFiles([image("a.jpg"), new File(["x"], "notes.txt", { type: "text/plain" })]);
    const url = controller.thumbnail("f0");
    assert.match(url ?? "", /^blob:/);
    assert.equal(controller.thumbnail("f1"), undefined, "no preview for a non-image");

    // Completed before the preview decoded: kept until it has.
    engine().set(
      snapshot([file("f0", { status: "completed", progress: 1 }), engine().snapshot.files[1]!]),
    );
    assert.deepEqual(revoked, []);
    controller.thumbnailLoaded("f0", true);
    assert.deepEqual(revoked, [url]);
    assert.equal(controller.thumbnail("f0"), url, "the <img> keeps its src (and pixels)");

    // Removed: released.
    controller.addFiles([image("b.jpg")]);
    const second = controller.thumbnail("f2")!;
    engine().remove("f2");
    assert.deepEqual(revoked, [url, second]);

    // Not decodable (HEIC in Chrome...): released, and the icon shows instead.
    controller.addFiles([image("c.heic")]);
    const third = controller.thumbnail("f2")!;
    controller.thumbnailLoaded("f2", false);
    assert.equal(controller.thumbnail("f2"), undefined);
    assert.deepEqual(revoked, [url, second, third]);
  } finally {
    URL.revokeObjectURL = revoke;
  }
});

Deno.test("upload controller - while busy: beforeunload asks, and the screen stays awake", async () => {
  const requests: string[] = [];
  let released = 0;
  const sentinel = {
    released: false,
    release: () => {
      released++;
      sentinel.released = true;
      return Promise.resolve();
    },
  };
  Object.defineProperty(navigator, "wakeLock", {
    configurable: true,
    value: {
      request: (type: string) => {
        requests.push(type);
        sentinel.released = false;
        return Promise.resolve(sentinel);
      },
    },
  });
  const unload = () => {
    const event = new Event("beforeunload", { cancelable: true });
    globalThis.dispatchEvent(event);
    return event.defaultPrevented;
  };
  try {
    await using t = setup();
    const { controller, engine } = t;
    controller.hostUpdate();
    assert.equal(unload(), false);
    engine().set(snapshot([file("a", { status: "uploading" })]));
    assert.equal(unload(), true);
    await Promise.resolve();
    assert.deepEqual(requests, ["screen"]);
    engine().set(snapshot([file("a", { status: "paused" })]));
    assert.equal(unload(), false);
    assert.equal(released, 1);
  } finally {
    delete (navigator as { wakeLock?: unknown }).wakeLock;
  }
});

Deno.test("upload controller - a move keeps the engine, a removal ends it", async () => {
  await using t = setup();
  const { host, controller, engine } = t;
  controller.hostUpdate();
  controller.addFiles([image()]);
  const first = engine();
  // Moved: disconnected and connected again in the same task.
  host.isConnected = false;
  controller.hostDisconnected();
  host.isConnected = true;
  await Promise.resolve();
  assert.equal(first.destroyed, false);
  // Removed.
  host.isConnected = false;
  controller.hostDisconnected();
  await Promise.resolve();
  assert.equal(first.destroyed, true);
  assert.equal(first.listenerCount(), 0);
  assert.equal(controller.thumbnail("f0"), undefined);
  assert.equal(controller.snapshot.files.length, 0);
});

Deno.test("upload controller - options apply until the first file, then the session is fixed", async () => {
  await using t = setup();
  const { controller, engines, reconfigure } = t;
  controller.hostUpdate();
  reconfigure({ category: "scenic" });
  controller.hostUpdate();
  assert.equal(engines.length, 2);
  assert.equal(engines[0]!.destroyed, true);
  assert.equal(engines[1]!.config.category, "scenic");
  controller.addFiles([image()]);
  reconfigure({ category: "personal" });
  controller.hostUpdate();
  assert.equal(engines.length, 2);
});

Deno.test("upload controller - rows listed after a reload do not fix the options", async () => {
  await using t = setup();
  const { controller, engines, engine, reconfigure } = t;
  controller.hostUpdate();
  engine().set(snapshot([file("old", { status: "paused", waiting: "file" })]));
  reconfigure({ sessionId: "s2", token: "t2" }); // the host page's session, set late
  controller.hostUpdate();
  assert.equal(engines.length, 2, "a new engine for the given session");
  assert.equal(engines[1]!.config.sessionId, "s2");
});

Deno.test("upload controller - clear() cancels and forgets every file", async () => {
  await using t = setup();
  const { controller, engine } = t;
  controller.hostUpdate();
  controller.addFiles([image("a.jpg"), image("b.jpg")]);
  controller.clear();
  assert.deepEqual(engine().calls, ["cancel *", "remove f0", "remove f1"]);
  assert.equal(controller.snapshot.files.length, 0);
});
