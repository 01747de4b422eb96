/**
 * A lock wait that times out (issue #7 item 17) is the client's to retry: 423 UPLOAD_LOCKED
 * with Retry-After, nothing logged, over real HTTP. The lock is held by the test itself
 * through the in-process harness's locker (a stalled PATCH would let go when asked: the
 * service supersedes it, which is the point of onReleaseRequest), and H5_LOCK_TIMEOUT_MS
 * keeps the wait short.
 */
import assert from "node:assert/strict";
import { fileBytes, harness, metadata } from "../server/testing/harness.ts";
import { ConfigError, loadConfig } from "../server/config.ts";
import { captureErrors } from "./support/console.ts";
import { bearer, createSession, createUpload, OCTET, patch, TUS } from "./support/http.ts";
import { type Scope, scoped } from "./support/scope.ts";

/** The harness's app on a real port; closed with the scope. */
async function serve(scope: Scope, env: Record<string, string>) {
  const h = await harness(env);
  scope.defer("remove the harness folder", () => h[Symbol.asyncDispose]());
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (addr) => listening.resolve(addr) },
    (request, info) => h.app.fetch(request, info),
  );
  scope.defer("close the server", () => server.shutdown());
  const addr = await listening.promise;
  return { h, url: `http://127.0.0.1:${addr.port}` };
}

async function expectLocked(what: string, answer: Promise<Response>): Promise<void> {
  const res = await answer;
  const text = await res.text();
  assert.equal(res.status, 423, `${what}: status (${text.slice(0, 200)})`);
  if (text) assert.equal(JSON.parse(text).error?.code, "UPLOAD_LOCKED", `${what}: code`);
  assert.equal(res.headers.get("Retry-After"), "1", `${what}: Retry-After`);
}

Deno.test("lock timeout: a request waiting for a held upload gets 423 UPLOAD_LOCKED with Retry-After", () =>
  scoped(async (scope) => {
    const { h, url } = await serve(scope, { H5_LOCK_TIMEOUT_MS: "200" });
    const session = await createSession(url);
    const up = await createUpload(url, session, { size: 100 });
    const log = captureErrors(scope);

    const held = await h.locker.acquire(`upload:${up.id}`);
    let released = false;
    scope.defer("release the held lock", () => released ? undefined : held.release());
    const auth = bearer(session.token);
    await expectLocked(
      "PATCH",
      fetch(up.location, {
        method: "PATCH",
        headers: { ...TUS, ...auth, "Content-Type": OCTET, "Upload-Offset": "0" },
        body: fileBytes(100),
      }),
    );
    await expectLocked(
      "DELETE",
      fetch(up.location, { method: "DELETE", headers: { ...TUS, ...auth } }),
    );
    // The socket commands go through the same lock: the service answers the same code.
    await assert.rejects(
      h.service.pause({ sessionId: session.sessionId, fileId: up.id }),
      (error: Error & { code?: string; status?: number }) =>
        error.code === "UPLOAD_LOCKED" && error.status === 423,
    );
    log.assertNone("the lock waits");

    // Once the holder lets go, the upload is intact and the client's retry works.
    released = true;
    await held.release();
    assert.equal((await patch(up.location, session.token, 0, fileBytes(100))).status, 204);
    log.assertNone("the retry");
  }));

Deno.test("lock timeout: a creation waiting for a held session gets 423 UPLOAD_LOCKED with Retry-After", () =>
  scoped(async (scope) => {
    const { h, url } = await serve(scope, { H5_LOCK_TIMEOUT_MS: "200" });
    const session = await createSession(url);
    const log = captureErrors(scope);
    const held = await h.locker.acquire(`session:${session.sessionId}`);
    let released = false;
    scope.defer("release the held lock", () => released ? undefined : held.release());
    await expectLocked(
      "POST",
      fetch(`${url}/api/uploads`, {
        method: "POST",
        headers: {
          ...TUS,
          ...bearer(session.token),
          "Upload-Length": "100",
          "Upload-Metadata": metadata({ filename: "p.jpg", filetype: "image/jpeg" }),
        },
      }),
    );
    log.assertNone("the session lock wait");
    released = true;
    await held.release();
    await createUpload(url, session, { size: 100 });
  }));

Deno.test("lock timeout: a final waiting for a part another final is claiming gets 423 UPLOAD_LOCKED", () =>
  scoped(async (scope) => {
    const { h, url } = await serve(scope, { H5_LOCK_TIMEOUT_MS: "200" });
    const session = await createSession(url);
    const auth = bearer(session.token);
    const made = await fetch(`${url}/api/uploads`, {
      method: "POST",
      headers: { ...TUS, ...auth, "Upload-Length": "100", "Upload-Concat": "partial" },
    });
    await made.body?.cancel();
    assert.equal(made.status, 201);
    const part = made.headers.get("Location")!;
    assert.equal((await patch(part, session.token, 0, fileBytes(100))).status, 204);
    const log = captureErrors(scope);

    const held = await h.locker.acquire(`concat:${part.split("/").pop()}`);
    let released = false;
    scope.defer("release the held claim", () => released ? undefined : held.release());
    const final = () =>
      fetch(`${url}/api/uploads`, {
        method: "POST",
        headers: {
          ...TUS,
          ...auth,
          "Upload-Concat": `final;${new URL(part).pathname}`,
          "Upload-Metadata": metadata({ filename: "joined.jpg", filetype: "image/jpeg" }),
        },
      });
    await expectLocked("final POST", final());
    log.assertNone("the claim wait");
    released = true;
    await held.release();
    const joined = await final();
    await joined.body?.cancel();
    assert.equal(joined.status, 201);
  }));

Deno.test("lock timeout: H5_LOCK_TIMEOUT_MS is validated and defaults to 10 s", () => {
  assert.equal(loadConfig({}).lockTimeoutMs, 10_000);
  assert.equal(loadConfig({ H5_LOCK_TIMEOUT_MS: "250" }).lockTimeoutMs, 250);
  for (const bad of ["abc", "-1", "0", "1e3", "9999999"]) {
    assert.throws(
      () => loadConfig({ H5_LOCK_TIMEOUT_MS: bad }),
      (error: Error) =>
        error instanceof ConfigError && error.message.includes("H5_LOCK_TIMEOUT_MS"),
      bad,
    );
  }
});
