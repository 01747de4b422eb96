import assert from "node:assert/strict";
import {
  fileBytes,
  type Harness,
  harness,
  metadata,
  PNG_HEAD,
  sha256Hex,
} from "../../testing/harness.ts";

const TUS = { "Tus-Resumable": "1.0.0" };
const OCTET = "application/offset+octet-stream";

async function session(h: Harness, category = "personal") {
  const res = await h.app.request("/api/sessions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ category, clientType: "web" }),
  });
  assert.equal(res.status, 201);
  return await res.json() as { sessionId: string; token: string; uploadUrl: string };
}

async function create(
  h: Harness,
  token: string,
  init: { length?: number; meta?: Record<string, string>; headers?: Record<string, string> } = {},
) {
  return await h.app.request("/api/uploads", {
    method: "POST",
    headers: {
      ...TUS,
      Authorization: `Bearer ${token}`,
      "Upload-Length": String(init.length ?? 100),
      "Upload-Metadata": metadata(init.meta ?? { filename: "a.jpg", filetype: "image/jpeg" }),
      ...init.headers,
    },
  });
}

function patch(
  h: Harness,
  url: string,
  token: string,
  body: Uint8Array<ArrayBuffer>,
  offset: number,
  headers = {},
) {
  return h.app.request(new URL(url).pathname, {
    method: "PATCH",
    headers: {
      ...TUS,
      Authorization: `Bearer ${token}`,
      "Content-Type": OCTET,
      "Upload-Offset": String(offset),
      "Content-Length": String(body.length),
      ...headers,
    },
    body,
  });
}

async function errorCode(res: Response): Promise<string> {
  const body = await res.json() as { error: { code: string; message: string } };
  assert.ok(body.error.message.length > 0);
  return body.error.code;
}

Deno.test("tus - OPTIONS answers 200 with the capabilities", async () => {
  await using h = await harness();
  const res = await h.app.request("/api/uploads", { method: "OPTIONS" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Tus-Version"), "1.0.0");
  assert.match(
    res.headers.get("Tus-Extension")!,
    /creation,creation-with-upload,creation-defer-length/,
  );
  assert.match(res.headers.get("Tus-Extension")!, /termination,expiration,checksum,concatenation/);
  assert.equal(res.headers.get("Tus-Max-Size"), String(h.config.maxFileSize));
  assert.equal(res.headers.get("Tus-Checksum-Algorithm"), "sha1,sha256,md5");
});

Deno.test("tus - missing or unsupported Tus-Resumable gets 412 with Tus-Version on every method", async () => {
  await using h = await harness();
  for (
    const [method, path] of [["POST", "/api/uploads"], ["HEAD", "/api/uploads/x"], [
      "PATCH",
      "/api/uploads/x",
    ], ["DELETE", "/api/uploads/x"]]
  ) {
    for (const version of [undefined, "0.2.2"]) {
      const headers: Record<string, string> = version ? { "Tus-Resumable": version } : {};
      const res = await h.app.request(path!, { method, headers });
      assert.equal(res.status, 412, `${method} ${version}`);
      assert.equal(res.headers.get("Tus-Version"), "1.0.0");
      assert.equal(res.headers.get("Tus-Resumable"), "1.0.0");
      await res.body?.cancel();
    }
  }
});

Deno.test("tus - creation, HEAD, PATCH in chunks, completion, download", async () => {
  await using h = await harness();
  const s = await session(h);
  const data = fileBytes(300_000);
  const created = await create(h, s.token, {
    length: data.length,
    meta: {
      filename: "../../etc/passwd.jpg",
      filetype: "image/jpeg",
      sessionId: s.sessionId,
      category: "personal",
    },
  });
  assert.equal(created.status, 201);
  const location = created.headers.get("Location")!;
  assert.match(location, /^http:\/\/localhost\/api\/uploads\/[0-9a-f-]{36}$/);
  assert.ok(created.headers.get("Upload-Expires"));

  const head = await h.app.request(new URL(location).pathname, {
    method: "HEAD",
    headers: { ...TUS, Authorization: `Bearer ${s.token}` },
  });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("Upload-Offset"), "0");
  assert.equal(head.headers.get("Upload-Length"), String(data.length));
  assert.equal(head.headers.get("Cache-Control"), "no-store");
  assert.ok(head.headers.get("Upload-Expires"));
  assert.ok(head.headers.get("Upload-Metadata"));

  let offset = 0;
  for (const size of [100_000, 100_000, 100_000]) {
    const res = await patch(h, location, s.token, data.slice(offset, offset + size), offset);
    assert.equal(res.status, 204);
    offset += size;
    assert.equal(res.headers.get("Upload-Offset"), String(offset));
  }
  const completed = h.events.find((e) => e.name === "upload-completed");
  assert.ok(completed && completed.name === "upload-completed");
  assert.match(completed.payload.uploadPath, /^personal\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\.jpg$/);
  assert.ok(!completed.payload.uploadPath.includes("passwd"));
  const stored = await Deno.readFile(`${h.root}/uploads/${completed.payload.uploadPath}`);
  assert.equal(await sha256Hex(stored), await sha256Hex(data));
  assert.ok(h.events.some((e) => e.name === "session-completed"));

  const download = await h.app.request(new URL(location).pathname, {
    headers: { Authorization: `Bearer ${s.token}` },
  });
  assert.equal(download.status, 200);
  assert.equal(download.headers.get("X-Content-Type-Options"), "nosniff");
  assert.match(download.headers.get("Content-Disposition")!, /^attachment;/);
  assert.equal(await sha256Hex(await download.arrayBuffer()), await sha256Hex(data));
  const ranged = await h.app.request(new URL(location).pathname, {
    headers: { Authorization: `Bearer ${s.token}`, Range: "bytes=10-19" },
  });
  assert.equal(ranged.status, 206);
  assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), data.slice(10, 20));
  const other = await session(h);
  const refused = await h.app.request(new URL(location).pathname, {
    headers: { Authorization: `Bearer ${other.token}` },
  });
  assert.equal(refused.status, 403);
  assert.equal(await errorCode(refused), "INSUFFICIENT_PERMISSIONS");
});

Deno.test("tus - bad PATCH inputs get their codes and leave the upload unchanged", async () => {
  await using h = await harness();
  const s = await session(h);
  const data = fileBytes(1000);
  const location = (await create(h, s.token, { length: 1000 })).headers.get("Location")!;
  assert.equal((await patch(h, location, s.token, data.slice(0, 100), 0)).status, 204);

  const wrongType = await patch(h, location, s.token, data.slice(100, 200), 100, {
    "Content-Type": "text/plain",
  });
  assert.equal(wrongType.status, 415);
  assert.equal(await errorCode(wrongType), "UNSUPPORTED_MEDIA_TYPE");

  const noOffset = await h.app.request(new URL(location).pathname, {
    method: "PATCH",
    headers: { ...TUS, Authorization: `Bearer ${s.token}`, "Content-Type": OCTET },
    body: data.slice(100, 200),
  });
  assert.equal(noOffset.status, 400);
  assert.equal(await errorCode(noOffset), "INVALID_REQUEST");

  const mismatch = await patch(h, location, s.token, data.slice(100, 200), 50);
  assert.equal(mismatch.status, 409);
  assert.equal(mismatch.headers.get("Upload-Offset"), "100");
  assert.equal(await errorCode(mismatch), "OFFSET_MISMATCH");

  const badSum = await patch(h, location, s.token, data.slice(100, 200), 100, {
    "Upload-Checksum": `sha256 ${btoa("x".repeat(32))}`,
  });
  assert.equal(badSum.status, 460);
  assert.equal(await errorCode(badSum), "CHECKSUM_MISMATCH");

  const unknownAlg = await patch(h, location, s.token, data.slice(100, 200), 100, {
    "Upload-Checksum": "crc32 AAAA",
  });
  assert.equal(unknownAlg.status, 400);
  assert.equal(await errorCode(unknownAlg), "CHECKSUM_UNSUPPORTED");

  const tooMuch = await patch(h, location, s.token, fileBytes(901), 100);
  assert.equal(tooMuch.status, 413);
  assert.equal(await errorCode(tooMuch), "FILE_TOO_LARGE");

  const noToken = await h.app.request(new URL(location).pathname, { method: "HEAD", headers: TUS });
  assert.equal(noToken.status, 403);
  const forged = await h.app.request(new URL(location).pathname, {
    method: "HEAD",
    headers: { ...TUS, Authorization: `Bearer ${s.token}x` },
  });
  assert.equal(forged.status, 403);

  const head = await h.app.request(new URL(location).pathname, {
    method: "HEAD",
    headers: { ...TUS, Authorization: `Bearer ${s.token}` },
  });
  assert.equal(head.headers.get("Upload-Offset"), "100");
  const stored = await Deno.readFile(
    `${h.root}/uploads/.parts/${new URL(location).pathname.split("/").pop()}`,
  );
  assert.deepEqual(stored, data.slice(0, 100));

  for (const algorithm of ["SHA-256", "SHA-1"] as const) {
    const chunk = data.slice(100, 200);
    const digest = btoa(
      String.fromCharCode(...new Uint8Array(await crypto.subtle.digest(algorithm, chunk))),
    );
    const name = algorithm === "SHA-256" ? "sha256" : "sha1";
    const off = algorithm === "SHA-256" ? 100 : 200;
    const good = await patch(h, location, s.token, data.slice(off, off + 100), off, {
      "Upload-Checksum": `${name} ${
        algorithm === "SHA-256" ? digest : btoa(
          String.fromCharCode(
            ...new Uint8Array(await crypto.subtle.digest(algorithm, data.slice(off, off + 100))),
          ),
        )
      }`,
    });
    assert.equal(good.status, 204, name);
  }
});

Deno.test("tus - creation refusals: size, type, count, metadata, lengths", async () => {
  await using h = await harness({ H5_PERSONAL_MAX_FILE_SIZE: "1000", H5_PERSONAL_MAX_FILES: "2" });
  const s = await session(h);
  const tooBig = await create(h, s.token, { length: 1001 });
  assert.equal(tooBig.status, 413);
  assert.equal(await errorCode(tooBig), "FILE_TOO_LARGE");
  const overMax = await create(h, s.token, { length: h.config.maxFileSize + 1 });
  assert.equal(overMax.status, 413);
  const exe = await create(h, s.token, {
    meta: { filename: "a.exe", filetype: "application/x-msdownload" },
  });
  assert.equal(exe.status, 415);
  assert.equal(await errorCode(exe), "FILE_TYPE_NOT_ALLOWED");
  const disguised = await create(h, s.token, {
    meta: { filename: "a.pdf", filetype: "image/jpeg" },
  });
  assert.equal(await errorCode(disguised), "FILE_TYPE_NOT_ALLOWED");
  const badMeta = await create(h, s.token, {
    headers: { "Upload-Metadata": "filename not-base64!!" },
  });
  assert.equal(badMeta.status, 400);
  const both = await create(h, s.token, { headers: { "Upload-Defer-Length": "1" } });
  assert.equal(both.status, 400);
  const badId = await create(h, s.token, {
    meta: { filename: "a.jpg", filetype: "image/jpeg", fileId: "../../x" },
  });
  assert.equal(badId.status, 400);
  const otherSession = await create(h, s.token, {
    meta: { filename: "a.jpg", filetype: "image/jpeg", sessionId: crypto.randomUUID() },
  });
  assert.equal(otherSession.status, 403);
  assert.equal((await create(h, s.token)).status, 201);
  assert.equal((await create(h, s.token)).status, 201);
  const third = await create(h, s.token);
  assert.equal(third.status, 409);
  assert.equal(await errorCode(third), "TOO_MANY_FILES");
});

Deno.test("tus - content that is not the allowed type is refused on its first bytes and removed", async () => {
  await using h = await harness();
  const s = await session(h);
  const location = (await create(h, s.token, { length: 5000 })).headers.get("Location")!;
  const text = new TextEncoder().encode("#!/bin/sh\necho this is not a jpeg\n".repeat(200)).slice(
    0,
    5000,
  );
  const res = await patch(h, location, s.token, text, 0);
  assert.equal(res.status, 415);
  assert.equal(await errorCode(res), "FILE_TYPE_NOT_ALLOWED");
  const failed = h.events.find((e) => e.name === "upload-failed");
  assert.ok(failed && failed.name === "upload-failed");
  assert.equal(failed.payload.canRetry, false);
  const parts = [...Deno.readDirSync(`${h.root}/uploads/.parts`)];
  assert.equal(parts.length, 0);
  assert.ok(!h.events.some((e) => e.name === "upload-completed"));
});

Deno.test("tus - a PNG declared as JPEG is stored by what it is", async () => {
  await using h = await harness();
  const s = await session(h);
  const data = fileBytes(64, PNG_HEAD);
  const created = await h.app.request("/api/uploads", {
    method: "POST",
    headers: {
      ...TUS,
      Authorization: `Bearer ${s.token}`,
      "Upload-Length": "64",
      "Upload-Metadata": metadata({ filename: "photo.jpg", filetype: "image/jpeg" }),
      "Content-Type": OCTET,
    },
    body: data,
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("Upload-Offset"), "64");
  const completed = h.events.find((e) => e.name === "upload-completed");
  assert.ok(completed && completed.name === "upload-completed");
  assert.match(completed.payload.uploadPath, /\.png$/);
});

Deno.test("tus - creation-with-upload of another content type gets 415", async () => {
  await using h = await harness();
  const s = await session(h);
  const res = await h.app.request("/api/uploads", {
    method: "POST",
    headers: {
      ...TUS,
      Authorization: `Bearer ${s.token}`,
      "Upload-Length": "10",
      "Content-Type": "text/plain",
    },
    body: "0123456789",
  });
  assert.equal(res.status, 415);
});

Deno.test("tus - defer length, termination, X-HTTP-Method-Override", async () => {
  await using h = await harness();
  const s = await session(h);
  const data = fileBytes(200);
  const created = await create(h, s.token, {
    headers: { "Upload-Length": "", "Upload-Defer-Length": "1" },
  });
  assert.equal(created.status, 400, "an empty Upload-Length is malformed");
  const deferred = await h.app.request("/api/uploads", {
    method: "POST",
    headers: {
      ...TUS,
      Authorization: `Bearer ${s.token}`,
      "Upload-Defer-Length": "1",
      "Upload-Metadata": metadata({ filename: "v.mp4", filetype: "video/mp4" }),
    },
  });
  assert.equal(deferred.status, 201);
  const location = deferred.headers.get("Location")!;
  const head = await h.app.request(new URL(location).pathname, {
    method: "HEAD",
    headers: { ...TUS, Authorization: `Bearer ${s.token}` },
  });
  assert.equal(head.headers.get("Upload-Defer-Length"), "1");
  assert.equal(head.headers.get("Upload-Length"), null);
  const viaOverride = await h.app.request(new URL(location).pathname, {
    method: "POST",
    headers: {
      ...TUS,
      "X-HTTP-Method-Override": "PATCH",
      Authorization: `Bearer ${s.token}`,
      "Content-Type": OCTET,
      "Upload-Offset": "0",
      "Upload-Length": "200",
      "Content-Length": "100",
    },
    body: data.slice(0, 100),
  });
  assert.equal(viaOverride.status, 204);
  assert.equal(viaOverride.headers.get("Upload-Offset"), "100");
  const del = await h.app.request(new URL(location).pathname, {
    method: "DELETE",
    headers: { ...TUS, Authorization: `Bearer ${s.token}` },
  });
  assert.equal(del.status, 204);
  const gone = await h.app.request(new URL(location).pathname, {
    method: "HEAD",
    headers: { ...TUS, Authorization: `Bearer ${s.token}` },
  });
  assert.ok(gone.status === 404 || gone.status === 410);
  const after = await patch(h, location, s.token, data.slice(100), 100);
  assert.ok(after.status === 404 || after.status === 410);
  assert.ok(h.events.some((e) => e.name === "upload-cancelled"));
});

Deno.test("tus - concatenation joins partial uploads into one file", async () => {
  await using h = await harness();
  const s = await session(h);
  const data = fileBytes(3000);
  const parts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await create(h, s.token, {
      length: 1000,
      meta: {},
      headers: { "Upload-Concat": "partial" },
    });
    assert.equal(res.status, 201);
    parts.push(res.headers.get("Location")!);
  }
  // Upload the parts out of order to show the order comes from the final's list.
  for (const i of [2, 0, 1]) {
    assert.equal(
      (await patch(h, parts[i]!, s.token, data.slice(i * 1000, (i + 1) * 1000), 0)).status,
      204,
    );
  }
  const final = await h.app.request("/api/uploads", {
    method: "POST",
    headers: {
      ...TUS,
      Authorization: `Bearer ${s.token}`,
      "Upload-Concat": `final;${parts.map((p) => new URL(p).pathname).join(" ")}`,
      "Upload-Metadata": metadata({ filename: "big.jpg", filetype: "image/jpeg" }),
    },
  });
  assert.equal(final.status, 201);
  const head = await h.app.request(new URL(final.headers.get("Location")!).pathname, {
    method: "HEAD",
    headers: { ...TUS, Authorization: `Bearer ${s.token}` },
  });
  assert.equal(head.headers.get("Upload-Offset"), "3000");
  assert.match(head.headers.get("Upload-Concat")!, /^final;\/api\/uploads\//);
  const completed = h.events.find((e) => e.name === "upload-completed");
  assert.ok(completed && completed.name === "upload-completed");
  const stored = await Deno.readFile(`${h.root}/uploads/${completed.payload.uploadPath}`);
  assert.equal(await sha256Hex(stored), await sha256Hex(data));
  const patchFinal = await patch(
    h,
    final.headers.get("Location")!,
    s.token,
    data.slice(0, 1),
    3000,
  );
  assert.equal(patchFinal.status, 403);
});

Deno.test("tus - anonymous uploads only when H5_ALLOW_ANONYMOUS is on", async () => {
  {
    await using h = await harness();
    const res = await h.app.request("/api/uploads", {
      method: "POST",
      headers: { ...TUS, "Upload-Length": "10" },
    });
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), "INSUFFICIENT_PERMISSIONS");
  }
  await using h = await harness({ H5_ALLOW_ANONYMOUS: "true" });
  const text = new TextEncoder().encode("plain text, no category rules");
  const res = await h.app.request("/api/uploads", {
    method: "POST",
    headers: {
      ...TUS,
      "Upload-Length": String(text.length),
      "Content-Type": OCTET,
      "Upload-Metadata": metadata({ filename: "notes.txt" }),
    },
    body: text,
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("Upload-Offset"), String(text.length));
});

Deno.test("tus - expired and paused uploads", async () => {
  await using h = await harness();
  const s = await session(h);
  const location = (await create(h, s.token, { length: 1000 })).headers.get("Location")!;
  const id = new URL(location).pathname.split("/").pop()!;
  await h.service.pause({ sessionId: s.sessionId, fileId: id });
  const paused = await patch(h, location, s.token, fileBytes(100), 0);
  assert.equal(paused.status, 423);
  assert.equal(await errorCode(paused), "UPLOAD_PAUSED");
  await h.service.resume({ sessionId: s.sessionId, fileId: id });
  assert.equal((await patch(h, location, s.token, fileBytes(100), 0)).status, 204);
  h.clock.now += h.config.sessionTimeoutMs + 1;
  await h.service.sweep();
  const expired = await h.app.request(new URL(location).pathname, {
    method: "HEAD",
    headers: { ...TUS, Authorization: `Bearer ${s.token}` },
  });
  assert.equal(expired.status, 410);
  const sessionError = h.events.find((e) => e.name === "session-error");
  assert.ok(sessionError && sessionError.name === "session-error");
  assert.equal(sessionError.payload.error.code, "SESSION_TIMEOUT");
  assert.deepEqual(sessionError.payload.affectedFiles, [id]);
  assert.equal([...Deno.readDirSync(`${h.root}/uploads/.parts`)].length, 0);
});
