/**
 * Issue #8, item 4 in a real Chromium against the real server: the element reads its
 * category's limits (`GET /api/categories`) before any file, so a file over them is refused
 * when picked, in the page's language, and no request about it reaches the server.
 */
import assert from "node:assert/strict";
import {
  browserTest,
  diskFile,
  fileInput,
  openPage,
  startUploadServer,
  tempDir,
} from "./support.ts";

const MiB = 2 ** 20;

browserTest(
  "a file over the category's limit is refused when picked: no request reaches the server",
  async (
    { browser, scope },
  ) => {
    const server = await startUploadServer(scope, {
      H5_SCENIC_MAX_FILE_SIZE: "1MiB",
      H5_SCENIC_ALLOWED_TYPES: "image/*",
    });
    const dir = await tempDir(scope);
    const big = await diskFile(dir, "big.jpg", 2 * MiB);
    const small = await diskFile(dir, "small.jpg", MiB / 2);
    const { page, errors } = await openPage(browser, scope);
    await page.goto(`${server.url}/`);
    // One element of the scenic category, uploading as soon as a file is added.
    await page.evaluate(() => {
      document.body.innerHTML =
        '<h5-uploader lang="zh-CN" category="scenic" auto-start></h5-uploader>';
    });
    const element = page.locator("h5-uploader");
    // The limits line appears once the limits are known.
    await element.locator("[part~=dropzone]").getByText("每个不超过 1 MB").waitFor();

    const requests: string[] = [];
    const created: string[] = [];
    page.on("request", (r) => {
      requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
      const metadata = r.headers()["upload-metadata"];
      if (r.method() === "POST" && metadata) {
        const name = metadata.split(",").find((pair) => pair.startsWith("filename "));
        created.push(new TextDecoder().decode(
          Uint8Array.from(atob(name!.slice(9)), (c) => c.charCodeAt(0)),
        ));
      }
    });
    await fileInput(page).setInputFiles(big.path);
    const message = element.locator("[part~=messages] [part~=message]");
    await message.waitFor();
    assert.equal(await message.innerText(), "“big.jpg”: 文件太大 (1 MB)");
    assert.deepEqual(requests, [], "nothing sent when the file was refused");

    // A file within the limits then uploads: any request the refused one had caused would
    // have come before its own.
    await fileInput(page).setInputFiles(small.path);
    await element.locator("[part~=file][data-status=completed]").waitFor({ timeout: 20_000 });
    assert.deepEqual(created, ["small.jpg"], "only the file within the limits became an upload");
    const names = await element.evaluate((el) =>
      (el as HTMLElement & { files: { name: string }[] }).files.map((f) => f.name)
    );
    assert.deepEqual(names, ["small.jpg"]);
    assert.deepEqual(errors, []);
  },
);
