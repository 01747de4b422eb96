/**
 * Every parser of client input, fed seeded random garbage: each returns, or throws an
 * AppError with a 4xx. Anything else (a TypeError, a URIError from decodeURIComponent, a
 * DOMException from atob) would reach the client as a 500.
 */
import { prng } from "../../testing/prng.ts";
import assert from "node:assert/strict";
import { TokenSigner } from "../../auth/token.ts";
import { AppError } from "../../errors.ts";
import { bearerToken } from "../../http/bearer.ts";
import * as schemas from "../../realtime/schemas.ts";
import { declaredMediaType, isMediaType } from "../../upload/media_type.ts";
import {
  checkTusResumable,
  integerHeader,
  parseChecksum,
  parseConcat,
  parseMetadata,
} from "./headers.ts";

const ROUNDS = 4000;

const PIECES = [
  "",
  " ",
  "\t",
  "\r\n",
  "\u0000",
  "\u007f",
  "\u0085",
  "\ud800",
  "\udfff",
  "é",
  "😀",
  ",",
  ";",
  "=",
  ".",
  "/",
  "%",
  "%E0%A4%A",
  "%ZZ",
  "%",
  "-",
  "+",
  "_",
  "0",
  "1",
  "-1",
  "1e3",
  "0x1",
  "99999999999999999999",
  "9007199254740993",
  "a",
  "y",
  "Zm9v",
  "QQ",
  "Q",
  "====",
  "Bearer",
  "final;",
  "partial",
  "sha1",
  "sha256",
  "md5",
  "filetype",
  "filename",
  "__proto__",
  "image/jpeg",
  "1.0.0",
  "http://h",
  "a.1.y",
];

function garbage(random: () => number): string {
  let out = "";
  const n = Math.floor(random() * 8);
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(random() * PIECES.length)];
  if (random() < 0.02) out = out.repeat(1000);
  return out;
}

/** `run` must return or throw a 4xx AppError; returns what it threw, if anything. */
async function only4xx(what: string, input: unknown, run: () => unknown): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (error instanceof AppError && error.status >= 400 && error.status < 500) return;
    throw new assert.AssertionError({
      message: `${what}(${JSON.stringify(input)?.slice(0, 120)}) threw ${error}`,
    });
  }
}

Deno.test("parsers fuzz: tus headers (headers.ts) only ever throw 4xx AppErrors", async () => {
  const random = prng(7);
  for (let i = 0; i < ROUNDS; i++) {
    const v = garbage(random);
    await only4xx("checkTusResumable", v, () => checkTusResumable(v));
    await only4xx("integerHeader", v, () => integerHeader("Upload-Length", v));
    await only4xx("parseMetadata", v, () => parseMetadata(v));
    await only4xx("parseChecksum", v, () => parseChecksum(v));
    await only4xx("parseConcat", v, () => parseConcat(v));
    await only4xx("parseConcat final", v, () => parseConcat(`final;${v} /x/${v}`));
    const meta = `filename ${b64ish(random)},filetype ${b64ish(random)},type ${b64ish(random)}`;
    await only4xx(
      "parseMetadata+declaredMediaType",
      meta,
      () => declaredMediaType(parseMetadata(meta)),
    );
  }
});

/** Base64 of arbitrary bytes, sometimes with garbage around. */
function b64ish(random: () => number): string {
  const bytes = Array.from({ length: Math.floor(random() * 16) }, () => Math.floor(random() * 256));
  const text = btoa(String.fromCharCode(...bytes));
  return random() < 0.2 ? text + garbage(random).replace(/[\s,]/g, "") : text;
}

Deno.test("parsers fuzz: bearer header and token verification never throw", async () => {
  const random = prng(11);
  const signer = new TokenSigner("fuzz-secret-0123456789");
  const good = await signer.sign({ sessionId: "s", expiresAt: Date.now() + 60_000 });
  const [body] = good.split(".").length === 3 ? [good.slice(0, good.lastIndexOf("."))] : [""];
  for (let i = 0; i < ROUNDS; i++) {
    const v = garbage(random);
    const header = random() < 0.5 ? `Bearer ${v}` : v;
    const token = bearerToken(header);
    assert.ok(token === null || typeof token === "string");
    // verify answers null for anything that is not a valid token; it must never throw.
    for (const candidate of [v, `a.1.${v}`, `${body}.${v}`, `${v}.${v}.${v}`]) {
      assert.equal(await signer.verify(candidate), null, `verify(${JSON.stringify(candidate)})`);
    }
  }
  assert.equal(await signer.verify("a.1.y"), null);
  assert.ok(await signer.verify(good));
});

Deno.test("parsers fuzz: socket payload schemas only ever throw 4xx AppErrors", async () => {
  const random = prng(13);
  const value = (depth: number): unknown => {
    const pick = random();
    if (pick < 0.3 || depth > 3) return garbage(random);
    if (pick < 0.4) return Math.floor(random() * 2e9) - 1e9;
    if (pick < 0.45) return [NaN, Infinity, -0, 1e308][Math.floor(random() * 4)];
    if (pick < 0.5) return [null, undefined, true, false][Math.floor(random() * 4)];
    if (pick < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    const keys = ["sessionId", "token", "fileId", "fileIds", "category", "clientType", "reason"];
    return Object.fromEntries(
      keys.filter(() => random() < 0.5).map((k) => [k, value(depth + 1)]),
    );
  };
  const all = [
    schemas.HandshakeQuery,
    schemas.HandshakeAuth,
    schemas.JoinSession,
    schemas.LeaveSession,
    schemas.UploadStart,
    schemas.UploadProgress,
    schemas.UploadPause,
    schemas.UploadResume,
    schemas.UploadCancel,
  ];
  for (let i = 0; i < ROUNDS; i++) {
    const input = value(0);
    for (const schema of all) await only4xx("schema", input, () => schemas.parse(schema, input));
  }
});

Deno.test("media types: RFC 9110 grammar, no control characters", () => {
  for (const ok of ["image/jpeg", "video/mp4", "application/vnd.ms-excel", 'text/plain; q="a b"']) {
    assert.ok(isMediaType(ok), ok);
  }
  for (
    const bad of ["", "image", "image/", "text/html\r\nX: 1", "a/b\u0000", "a/\u00e9", "a b/c"]
  ) {
    assert.ok(!isMediaType(bad), JSON.stringify(bad));
  }
});
