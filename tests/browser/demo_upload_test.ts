/**
 * The demo page in a real Chromium against the real server: three files at once, pause /
 * resume / cancel, and a reload in the middle of an upload.
 */
import assert from "node:assert/strict";
import type { RoomEvent } from "../../protocol/events.ts";
import {
  browserTest,
  configure,
  diskFile,
  elementState,
  events,
  fileInput,
  logPatches,
  openPage,
  PatchGate,
  serverEvent,
  sessionIdOf,
  startUploadServer,
  storedFiles,
  storedSha256,
  tempDir,
  waitForConfirmed,
  waitForEvents,
  waitForStatus,
} from "./support.ts";
import { saveScreenshot } from "./screenshots.ts";

const MiB = 2 ** 20;

browserTest("demo page, 1280x800: three files upload, complete the session, sha256 match", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const files = [
    await diskFile(dir, "sunrise-over-the-cloud-terrace.jpg", 300_000),
    await diskFile(dir, "cable-car.jpg", 900_000),
    await diskFile(dir, "pines.jpg", 2_500_000),
  ];
  const { page, errors } = await openPage(browser, scope, {
    viewport: { width: 1280, height: 800 },
  });
  await page.goto(`${server.url}/`);

  await fileInput(page).setInputFiles(files.map((f) => f.path));
  const rows = page.locator("h5-uploader [part~=file]");
  assert.deepEqual(await rows.count(), 3);
  assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-status"))), [
    "queued",
    "queued",
    "queued",
  ]);

  await page.locator("h5-uploader").getByRole("button", { name: "Start upload" }).click();
  const [sessionDone] = await waitForEvents(page, "h5-session-complete");
  const completed = await events(page, "h5-upload-complete");
  assert.deepEqual(completed.length, 3);
  for (const file of files) {
    const event = completed.find((e) => e.detail.file.name === file.name);
    assert.ok(event, `no h5-upload-complete for ${file.name}`);
    assert.deepEqual(await storedSha256(server, event.detail.uploadPath), file.sha256, file.name);
  }
  assert.deepEqual(sessionDone!.detail.uploadPaths.length, 3);
  assert.deepEqual(sessionDone!.detail.fileIds.length, 3);
  assert.deepEqual(sessionDone!.composed, true);

  // What a person sees: every row uploaded, the totals at 100 %.
  await page.locator("h5-uploader [part~=file][data-status=completed]").nth(2).waitFor();
  const summary = await page.locator("h5-uploader [part~=summary]").innerText();
  assert.ok(/3 of 3 files uploaded · 100%/.test(summary), summary);
  assert.deepEqual(
    await page.locator("h5-uploader [part~=total-progress]").getAttribute("aria-valuenow"),
    "100",
  );

  // The element is the form's field: the demo form submits the three ids.
  const submitted = await page.locator("form#entry").evaluate((form) =>
    new FormData(form as HTMLFormElement).getAll("photos")
  );
  assert.deepEqual([...submitted].sort(), [...sessionDone!.detail.fileIds].sort());

  await page.locator("h5-uploader").evaluate((el) => el.scrollIntoView({ block: "center" }));
  await saveScreenshot(page, "desktop");
  assert.deepEqual(errors, []);
});

browserTest("demo page: progress is live over Socket.IO from the page's own origin", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const file = await diskFile(dir, "live.jpg", 4 * MiB);
  const { page } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  // Hold the upload after its first chunk so the connection settles while it is under way.
  const gate = await PatchGate.install(page, 1);
  await fileInput(page).setInputFiles(file.path);
  await page.locator("h5-uploader").getByRole("button", { name: "Start upload" }).click();
  await gate.waitHeld();
  const indicator = page.locator("h5-uploader [part~=connection]");
  await page.waitForFunction(
    () => {
      const el = document.querySelector("h5-uploader") as unknown as { connection: string };
      return el.connection !== "connecting";
    },
    null,
    { timeout: 10_000 },
  );
  assert.deepEqual(
    await indicator.getAttribute("data-state"),
    "connected",
    "the demo page served by the upload server must reach its Socket.IO room " +
      `(connection: ${await indicator.getAttribute("data-state")}, "${await indicator
        .innerText()}")`,
  );
  gate.open();
  await waitForEvents(page, "h5-session-complete");
});

browserTest("pause, resume and cancel from the buttons", async ({ browser, scope }) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const big = await diskFile(dir, "big.jpg", 24 * MiB);
  const { page, errors } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const patches = logPatches(page);
  const gate = await PatchGate.install(page, 3);
  const element = page.locator("h5-uploader");

  await fileInput(page).setInputFiles(big.path);
  await element.getByRole("button", { name: "Start upload" }).click();
  await gate.waitHeld("the 4th PATCH");
  await waitForConfirmed(page, 3 * MiB);
  const bar = element.locator("[part~=file] [part~=progress]");
  const during = Number(await bar.getAttribute("aria-valuenow"));
  assert.ok(during > 0 && during < 100, `progress while uploading: ${during}`);
  assert.deepEqual(await element.locator("[part~=file]").getAttribute("data-status"), "uploading");

  // Pause: the row says so, the toolbar offers "Resume all", the server holds the upload.
  const sessionId = await sessionIdOf(page);
  assert.ok(sessionId);
  const inSession = (e: RoomEvent) => "sessionId" in e.payload && e.payload.sessionId === sessionId;
  const serverPaused = serverEvent(
    server,
    (e) => e.name === "upload-paused" && inSession(e),
    "the server to hear the pause",
  );
  await element.getByRole("button", { name: "Pause big.jpg" }).click();
  await waitForStatus(page, "paused");
  await serverPaused;
  assert.deepEqual(
    (await server.running.service.snapshot(sessionId)).files?.map((f) => f.status),
    ["paused"],
  );
  await element.getByRole("button", { name: "Resume all" }).waitFor();
  assert.ok((await element.locator("[part~=file] [part~=status]").innerText()).includes("Paused"));
  gate.flush(); // the held PATCH was aborted by the pause
  const pausedAt = (await elementState(page)).files[0]!.bytesConfirmed;
  assert.deepEqual(pausedAt, 3 * MiB);

  // Resume: it continues from the server's offset, not from 0.
  const mark = patches.patches.length;
  gate.allow(2);
  const serverResumed = serverEvent(
    server,
    (e) => e.name === "upload-resumed" && inSession(e),
    "the server to hear the resume",
  );
  await element.getByRole("button", { name: "Resume big.jpg" }).click();
  await serverResumed;
  await gate.waitHeld("a PATCH after resume");
  const resumed = patches.patches.slice(mark);
  assert.ok(resumed.length > 0);
  assert.deepEqual(
    resumed[0]!.offset,
    pausedAt,
    "the first PATCH after resume starts where it paused",
  );
  await waitForStatus(page, "uploading");

  // Cancel: the row is cancelled, the server hears it, nothing is stored.
  const serverCancelled = serverEvent(
    server,
    (e) => e.name === "upload-cancelled" && inSession(e),
    "the server to cancel the upload",
  );
  await element.getByRole("button", { name: "Cancel all" }).click();
  await waitForStatus(page, "cancelled");
  gate.flush();
  await serverCancelled;
  const snapshot = await server.running.service.snapshot(sessionId);
  assert.deepEqual(snapshot.files?.map((f) => f.status), ["cancelled"]);
  assert.deepEqual(await storedFiles(server), []);
  assert.deepEqual((await events(page, "h5-session-complete")).length, 0);
  assert.deepEqual((await events(page, "h5-upload-complete")).length, 0);
  assert.ok(patches.patches.length < 24, "the cancelled upload stopped sending");
  assert.deepEqual(errors, []);
});

browserTest("a reload in the middle, then the same file picked again, resumes", async (
  { browser, scope },
) => {
  const server = await startUploadServer(scope);
  const dir = await tempDir(scope);
  const big = await diskFile(dir, "reload.jpg", 12 * MiB);
  const { page, errors } = await openPage(browser, scope);
  await page.goto(`${server.url}/`);
  await configure(page, { "chunk-size": "1MiB" });
  const patches = logPatches(page);
  const gate = await PatchGate.install(page, 5);
  await fileInput(page).setInputFiles(big.path);
  await page.locator("h5-uploader").getByRole("button", { name: "Start upload" }).click();
  await gate.waitHeld("the 6th PATCH");
  await waitForConfirmed(page, 5 * MiB);

  await page.reload();
  gate.flush();
  gate.open();
  const mark = patches.patches.length;
  await configure(page, { "chunk-size": "1MiB" });
  await fileInput(page).setInputFiles(big.path);
  await page.locator("h5-uploader").getByRole("button", { name: "Start upload" }).click();
  const [done] = await waitForEvents(page, "h5-upload-complete");
  const after = patches.patches.slice(mark);
  assert.ok(after.length > 0);
  assert.deepEqual(
    after[0]!.offset,
    5 * MiB,
    "the first PATCH after the reload continues at 5 MiB",
  );
  const sentAfter = after.reduce((n, p) => n + Math.min(MiB, big.size - p.offset), 0);
  assert.ok(sentAfter < big.size, `sent ${sentAfter} bytes after the reload, of ${big.size}`);
  assert.deepEqual(await storedSha256(server, done!.detail.uploadPath), big.sha256);
  assert.deepEqual(errors, []);
});
