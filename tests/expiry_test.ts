/**
 * Expiry of an upload whose PATCH is still open (issue #7, item 11): the sweep must stop the
 * writer and take the upload's lock before it removes the part, and the stopped PATCH must not
 * write `uploading` back over the expiry. Real server, raw TCP client that stalls mid-body.
 */
import assert from "node:assert/strict";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";
import { within } from "./support/deadline.ts";
import { stalledRequest } from "./support/raw_http.ts";
import { openState } from "./support/state_db.ts";
import { bearer, createSession, createUpload, exists, head, patch, TUS } from "./support/http.ts";
import { fileBytes } from "../server/testing/harness.ts";

const TIMEOUT_ENV = { H5_SESSION_TIMEOUT_MS: "1000", H5_ALLOW_ANONYMOUS: "true" };

/** console.error calls while `run` runs (a 500 is always logged). */
async function errorsDuring<T>(run: () => Promise<T>): Promise<{ value: T; errors: string[] }> {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    errors.push(args.map(String).join(" "));
    original(...args);
  };
  try {
    return { value: await run(), errors };
  } finally {
    console.error = original;
  }
}

for (const owner of ["anonymous", "session"] as const) {
  Deno.test(`expiry - a stalled PATCH of ${owner === "session" ? "a session" : "an anonymous"} upload ends as expired (410), never 500`, () =>
    scoped(async (scope) => {
      const server = await startTestServer({ scope, env: TIMEOUT_ENV, sweepEveryMs: 100 });
      const session = owner === "session" ? await createSession(server.url) : null;
      const token = session?.token ?? null;
      let location: string;
      if (session) {
        location = (await createUpload(server.url, session, { size: 1000 })).location;
      } else {
        const res = await fetch(server.tusEndpoint, {
          method: "POST",
          headers: { ...TUS, "Upload-Length": "1000" },
        });
        await res.body?.cancel();
        assert.equal(res.status, 201);
        location = res.headers.get("Location")!;
      }
      const path = new URL(location).pathname;
      const id = path.split("/").pop()!;

      const { value: answer, errors } = await errorsDuring(async () => {
        const stalled = await stalledRequest(
          scope,
          server.url,
          [
            `PATCH ${path} HTTP/1.1`,
            "Tus-Resumable: 1.0.0",
            "Content-Type: application/offset+octet-stream",
            "Upload-Offset: 0",
            "Content-Length: 1000",
            ...(token ? [`Authorization: Bearer ${token}`] : []),
          ].join("\r\n"),
          fileBytes(3),
        );
        // The sweep ends the stalled request once the lease (1 s without bytes) is over.
        const answer = await within(stalled.answer, "the sweep to end the stalled PATCH");
        const afterwards = await head(location, token);
        const resumed = await patch(location, token, afterwards.offset ?? 3, fileBytes(10));
        return { patch: answer, head: afterwards, resumed };
      });

      assert.equal(answer.patch.status, 410, `stalled PATCH: ${answer.patch.body}`);
      assert.match(answer.patch.body, /UPLOAD_EXPIRED/);
      assert.equal(answer.head.status, 410, "HEAD after expiry");
      assert.equal(answer.resumed.status, 410, `resume after expiry: ${answer.resumed.error}`);
      assert.equal(answer.resumed.error?.code, "UPLOAD_EXPIRED");
      assert.deepEqual(errors, [], "nothing was logged as our own fault");

      const state = openState(server.dataDir);
      try {
        const record = state.upload(id);
        assert.ok(record, "the record stays for its retention");
        assert.equal(record.status, "failed");
        assert.match(record.error?.code ?? "", /^(UPLOAD_EXPIRED|SESSION_TIMEOUT)$/);
      } finally {
        state.close();
      }
      assert.equal(await exists(`${server.uploadsDir}/.parts/${id}`), false, "part removed");
      if (session) {
        const res = await fetch(`${server.url}/api/sessions/${session.sessionId}`, {
          headers: bearer(session.token),
        });
        await res.body?.cancel();
        assert.notEqual(res.status, 500);
      }
    }));
}
