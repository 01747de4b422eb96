import { strict as assert } from "node:assert";
import { AppError } from "../errors.ts";
import { checkSessionGrant, checkUploadGrant, SessionAccess } from "./access.ts";
import { TokenSigner } from "./token.ts";
import type { UploadRecord } from "../state/store.ts";

const tokens = new TokenSigner("test-secret-0123456789");
const access = (allowAnonymous: boolean) =>
  new SessionAccess({
    tokens,
    allowAnonymous,
    session: (id) =>
      id === "s1" ? Promise.resolve() : Promise.reject(new AppError("SESSION_NOT_FOUND")),
  });
const refused = (code: string) => (e: unknown) => e instanceof AppError && e.code === code;

Deno.test("access - one token check for routes and sockets: missing, foreign, unknown", async () => {
  const token = await tokens.sign({ sessionId: "s1", expiresAt: Date.now() + 60_000 });
  const other = await tokens.sign({ sessionId: "s2", expiresAt: Date.now() + 60_000 });
  await access(true).authorize(token, "s1");
  await assert.rejects(access(true).authorize(null, "s1"), refused("INSUFFICIENT_PERMISSIONS"));
  await assert.rejects(access(true).authorize(other, "s1"), refused("INSUFFICIENT_PERMISSIONS"));
  await assert.rejects(access(true).authorize("x.1.y", "s1"), refused("INSUFFICIENT_PERMISSIONS"));
  await assert.rejects(access(true).authorize(other, "s2"), refused("SESSION_NOT_FOUND"));
});

Deno.test("access - no token is anonymous only where allowed", async () => {
  assert.deepEqual(await access(true).principal(null), { kind: "anonymous" });
  await assert.rejects(access(false).principal(null), refused("INSUFFICIENT_PERMISSIONS"));
  const token = await tokens.sign({ sessionId: "s1", expiresAt: Date.now() + 60_000 });
  assert.deepEqual(await access(false).principal(token), { kind: "session", sessionId: "s1" });
});

Deno.test("access - a principal sees its own session's uploads, anonymous only anonymous ones", () => {
  const own = { id: "u", sessionId: "s1" } as UploadRecord;
  const anon = { id: "v", sessionId: null } as UploadRecord;
  const session = { kind: "session", sessionId: "s1" } as const;
  checkUploadGrant(session, own);
  checkUploadGrant({ kind: "anonymous" }, anon);
  assert.throws(() => checkUploadGrant(session, anon), refused("INSUFFICIENT_PERMISSIONS"));
  assert.throws(
    () => checkUploadGrant({ kind: "anonymous" }, own),
    refused("INSUFFICIENT_PERMISSIONS"),
  );
  checkSessionGrant(session, undefined);
  checkSessionGrant(session, "s1");
  assert.throws(() => checkSessionGrant(session, "s2"), refused("INSUFFICIENT_PERMISSIONS"));
});
