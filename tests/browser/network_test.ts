/**
 * Bad networks in a real Chromium against the real server: the socket blocked (progress
 * by polling), and the network cut in the middle of an upload (automatic retry resumes).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { connectWatcher } from "../support/socket.ts";
import {
  browserTest,
  configure,
  diskFile,
  events,
  fileInput,
  logPatches,
  openPage,
  PatchGate,
  startUploadServer,
  storedSha256,
  tempDir,
  type UploadServer,
  waitForConfirmed,
  waitForEvents,
  watchText,
} from "./support.ts";

const MiB = 2 ** 20;

/**
 * Every Socket.IO connection of the page is refused, as by a network or proxy that lets no
 * WebSocket through. (page.route does not see WebSockets, and a socket closed by
 * routeWebSocket before it opens leaves socket.io waiting 20 s for its connect timeout: the
 * page's WebSocket is pointed at a closed port instead, a real connection refused.)
 */
async function blockSocket(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const Native = WebSocket;
    globalThis.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        const blocked = /\/socket\.io\//.test(String(url));
        super(blocked ? "ws://127.0.0.1:9/socket.io/refused" : url, protocols);
        if (blocked) globalThis.__socketAttempts = (globalThis.__socketAttempts ?? 0) + 1;
      }
    };
  });
}

/** The server's offset of an upload (tus HEAD), as any device would read it. */
async function headOffset(url: string, token: string): Promise<number> {
  const res = await fetch(url, {
    method: "HEAD",
    headers: { "Tus-Resumable": "1.0.0", Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, `HEAD ${url}`);
  return Number(res.headers.get("Upload-Offset"));
}

async function createSession(server: UploadServer): Promise<{ sessionId: string; token: string }> {
  const res = await fetch(`${server.url}/api/sessions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ category: "personal", clientType: "web" }),
  });
  assert.equal(res.status, 201);
  return await res.json();
}

declare global {
  var __socketAttempts: number | undefined;
}

browserTest("socket blocked: the indicator shows polling and the upload completes", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "no-socket.jpg", 6 * MiB);
  const { page, errors } = await openPage(browser, scope);
  await blockSocket(page);
  const polls: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "GET" && /\/api\/sessions\/[^/]+$/.test(r.url())) polls.push(r.url());
  });
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const gate = await PatchGate.install(page, 1);
  const element = page.locator("h5-uploader");
  await fileInput(page).setInputFiles(file.path);
  await element.getByRole("button", { name: "Start upload" }).click();

  // The upload waits (one chunk sent) until the socket gave up and polling took over.
  const indicator = element.locator("[part~=connection]");
  await element.locator("[part~=connection][data-state=polling]").waitFor({ timeout: 30_000 });
  const socketAttempts = await page.evaluate(() => globalThis.__socketAttempts ?? 0);
  assert.ok(
    socketAttempts >= 2,
    `the widget tried the socket and reconnecting (${socketAttempts})`,
  );
  assert.match(await indicator.innerText(), /Checking every 2 s/);
  // Progress shows while polling: two more chunks, then the row and the totals move.
  gate.allow(2);
  await gate.waitHeld("the 4th PATCH");
  await waitForConfirmed(page, 3 * MiB);
  const shown = Number(
    await element.locator("[part~=file] [part~=progress]").getAttribute("aria-valuenow"),
  );
  assert.ok(shown >= 50 && shown < 100, `the row's progress while polling: ${shown}`);
  assert.match(await element.locator("[part~=summary]").innerText(), /0 of 1 file uploaded · \d+%/);
  gate.open();

  const [done] = await waitForEvents(page, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  assert.ok(polls.length > 0, "the session was read over HTTP (GET /api/sessions/:id)");
  const progress = await events(page, "h5-upload-progress");
  assert.ok(progress.length > 0, "progress events while polling");
  await element.locator("[part~=file][data-status=completed]").waitFor();
  assert.equal(
    await element.locator("[part~=total-progress]").getAttribute("aria-valuenow"),
    "100",
  );
  assert.match(await element.locator("[part~=summary]").innerText(), /1 of 1 file uploaded · 100%/);
  assert.equal(await indicator.getAttribute("data-state"), "polling");
  assert.deepEqual(errors, []);
});

browserTest("network cut mid-upload: automatic retry resumes, the stored file is whole", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "flaky.jpg", 6 * MiB);
  const { page, errors } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const patches = logPatches(page);
  // The 3rd PATCH dies on the wire (as when the Wi-Fi drops), once.
  let seen = 0;
  await page.route("**/api/uploads/**", (route) => {
    if (route.request().method() !== "PATCH") return route.fallback();
    return ++seen === 3 ? route.abort("internetdisconnected") : route.continue();
  });
  const element = page.locator("h5-uploader");
  await fileInput(page).setInputFiles(file.path);
  const retryShown = await watchText(page, "Retry 1/5");
  await element.getByRole("button", { name: "Start upload" }).click();

  // The row says "Retry 1/5" while it waits to try again.
  await retryShown.seen();
  const [failure] = await waitForEvents(page, "h5-upload-error");
  assert.equal(failure!.detail.error.code, "NETWORK_ERROR");
  assert.equal(failure!.detail.willRetry, true);

  const [done] = await waitForEvents(page, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  const offsets = patches.patches.map((p) => p.offset);
  // 0, 1 MiB, 2 MiB (cut), then the retry continues at 2 MiB: nothing sent twice but the cut.
  assert.deepEqual(offsets.slice(0, 4), [0, MiB, 2 * MiB, 2 * MiB]);
  assert.equal(offsets.length, 7);
  assert.equal((await events(page, "h5-upload-error")).length, 1);
  assert.deepEqual(errors, []);
});

browserTest("offline for a while mid-upload: retries until back online, then completes", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "tunnel.jpg", 4 * MiB);
  const { context, page, errors } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const patches = logPatches(page);
  const gate = await PatchGate.install(page, 2);
  const element = page.locator("h5-uploader");
  await fileInput(page).setInputFiles(file.path);
  await element.getByRole("button", { name: "Start upload" }).click();
  await gate.waitHeld("the 3rd PATCH");

  await context.setOffline(true);
  const retryShown = await watchText(page, "Retry 1/5");
  gate.open(); // the held PATCH now meets a dead network
  await retryShown.seen();
  const [failure] = await events(page, "h5-upload-error");
  assert.equal(failure!.detail.error.code, "NETWORK_ERROR");
  assert.equal(failure!.detail.willRetry, true);
  const mark = patches.patches.length;
  await context.setOffline(false);

  const [done] = await waitForEvents(page, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  const after = patches.patches.slice(mark);
  assert.ok(after.length > 0);
  assert.ok(
    after[0]!.offset >= 2 * MiB,
    `back online, the upload continued at the server's offset (${after[0]!.offset}), not at 0`,
  );
  assert.deepEqual(errors, []);
});

browserTest("offline for 10 s mid-upload: the upload continues within 2 s of online", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "ridge.jpg", 4 * MiB);
  const { context, page, errors } = await openPage(browser, scope);
  // Why a pinned Math.random: with full jitter any backoff wait may be near 0 ms, so no honest
  // bound could tell the `online` wake-up from a plain retry. At 0.999 the waits are 1, 2, 4,
  // 8 s: after the 4th failure (about 7 s offline) the next plain retry is 8 s away, at about
  // 15 s; going online at 10 s, a PATCH within 2 s can only come from the wake-up. A loaded
  // machine only delays timers, which widens that margin.
  await page.addInitScript(() => (Math.random = () => 0.999));
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const gate = await PatchGate.install(page, 2);
  const element = page.locator("h5-uploader");
  await fileInput(page).setInputFiles(file.path);
  await element.getByRole("button", { name: "Start upload" }).click();
  await gate.waitHeld("the 3rd PATCH");

  await context.setOffline(true);
  const offlineAt = performance.now();
  const fourth = await watchText(page, "Retry 4/5");
  gate.open(); // the held PATCH now meets a dead network
  await fourth.seen(); // the widget kept retrying meanwhile
  // The scenario's 10 s offline (a duration, not a synchronisation).
  const rest = 10_000 - (performance.now() - offlineAt);
  if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  const firstPatch = new Promise<number>((resolve) => {
    const onRequest = (request: { method(): string }) => {
      if (request.method() !== "PATCH") return;
      page.off("request", onRequest);
      resolve(performance.now());
    };
    page.on("request", onRequest);
  });
  const onlineAt = performance.now();
  await context.setOffline(false);
  const gap = (await firstPatch) - onlineAt;
  console.log(
    `offline ${Math.round(onlineAt - offlineAt)} ms; online -> first PATCH ${Math.round(gap)} ms`,
  );
  assert.ok(gap < 2000, `the first PATCH came ${Math.round(gap)} ms after online`);

  const [done] = await waitForEvents(page, "h5-upload-complete");
  assert.equal(await storedSha256(server, done!.detail.uploadPath), file.sha256);
  assert.deepEqual(errors, []);
});

browserTest(
  "socket blocked: pause, resume and cancel reach the server over HTTP and the room hears them",
  async (
    { browser, scope },
  ) => {
    const server = await startUploadServer(scope);
    const dir = await tempDir(scope);
    const file = await diskFile(dir, "commands.jpg", 6 * MiB);
    // The host page's backend made the session, so a second device (a real socket.io client,
    // socket not blocked) watches the same room.
    const { sessionId, token } = await createSession(server);
    const watcher = await connectWatcher(server.url, { sessionId, token, scope });
    const { page, errors } = await openPage(browser, scope);
    await blockSocket(page);
    await page.goto(`${server.url}/`);
    await configure(page, { "chunk-size": "1MiB", "session-id": sessionId, token });
    const gate = await PatchGate.install(page, 2);
    const element = page.locator("h5-uploader");
    await fileInput(page).setInputFiles(file.path);
    await element.getByRole("button", { name: "Start upload" }).click();
    await gate.waitHeld("the 3rd PATCH"); // 2 MiB on the server, the 3rd PATCH held in the page
    const uploadUrl = await element.evaluate((el) =>
      (el as unknown as { files: { uploadUrl: string }[] }).files[0]!.uploadUrl
    );
    const fileId = uploadUrl.split("/").pop()!;
    const ofFile = (p: { fileId?: string }) => p.fileId === fileId;
    /** The widget's HTTP command, answered 200 (the socket's ack as the body). */
    const answered = (action: string) =>
      page.waitForResponse((r) =>
        r.request().method() === "POST" &&
        r.url() === `${server.url}/api/sessions/${sessionId}/files/${fileId}/${action}`
      ).then(async (r) => {
        assert.equal(r.status(), 200, action);
        assert.equal((await r.json()).ok, true);
      });

    // Pause: over HTTP (the socket never connected), the server pauses, the room hears it.
    const paused = watcher.events.waitFor("upload-paused", ofFile);
    const pauseAnswered = answered("pause");
    await element.getByRole("button", { name: "Pause commands.jpg" }).click();
    await Promise.all([paused, pauseAnswered]);
    gate.flush(); // the held PATCH was aborted by the page; anything later goes through
    gate.open();
    // What is asserted: the server's state is paused (a PATCH at its offset is refused with 423
    // UPLOAD_PAUSED), and its offset did not move between two HEADs that bracket three of the
    // widget's GET /api/sessions/:id (it polls every 2 s once socket.io gave up, so normally
    // 4 s or more of a live page with the gate open pass between them). What is not: the
    // elapsed time itself (tests assert no wall-clock figures), nor that no byte could land in
    // another window; the 423 is what rules out any writer.
    const before = await headOffset(uploadUrl, token);
    assert.equal(before, 2 * MiB);
    const refused = await fetch(uploadUrl, {
      method: "PATCH",
      headers: {
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": String(before),
        Authorization: `Bearer ${token}`,
      },
      body: new Uint8Array(16),
    });
    assert.equal(refused.status, 423);
    assert.equal((await refused.json()).error.code, "UPLOAD_PAUSED");
    for (let i = 0; i < 3; i++) {
      await page.waitForRequest((r) =>
        r.method() === "GET" && r.url().endsWith(`/api/sessions/${sessionId}`)
      );
    }
    assert.equal(await headOffset(uploadUrl, token), before, "no progress while paused");

    // Resume: the server resumes (the room hears it), and the upload moves on; held again.
    gate.allow(1);
    const resumed = watcher.events.waitFor("upload-resumed", ofFile);
    const resumeAnswered = answered("resume");
    await element.getByRole("button", { name: "Resume commands.jpg" }).click();
    await Promise.all([resumed, resumeAnswered]);
    await gate.waitHeld("a PATCH after the resume");
    assert.equal(await headOffset(uploadUrl, token), before + MiB, "one more MiB after resume");

    // Cancel: the server cancels, the room hears it.
    const cancelled = watcher.events.waitFor("upload-cancelled", ofFile);
    const cancelAnswered = answered("cancel");
    await element.getByRole("button", { name: "Cancel commands.jpg" }).click();
    await Promise.all([cancelled, cancelAnswered]);
    gate.flush();
    assert.equal(await page.evaluate(() => globalThis.__socketAttempts! > 0), true);
    assert.deepEqual(errors, []);
  },
);
