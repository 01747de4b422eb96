import assert from "node:assert/strict";
import { type ErrorCode, ERRORS, RETRYABLE } from "../../protocol/errors.ts";
import { backoff, manuallyRetryable, transient, verdict } from "./retry.ts";

Deno.test("retry - full-jitter backoff: below a ceiling doubling from 1 s up to 30 s", () => {
  const ceilings = [1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoff(n, () => 1));
  assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  assert.equal(backoff(3, () => 0), 0);
  assert.equal(backoff(3, () => 0.25), 1000);
});

Deno.test("retry - the codes retried automatically are the server's RETRYABLE (and NETWORK_ERROR)", () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    assert.equal(transient(code), RETRYABLE.has(code), code);
  }
  assert.equal(transient("NETWORK_ERROR"), true);
});

Deno.test("retry - what each failure means", () => {
  const cases: [number, string, string][] = [
    [0, "NETWORK_ERROR", "retry"],
    [500, "INTERNAL_ERROR", "retry"],
    [503, "SOMETHING", "retry"],
    [500, "STORAGE_ERROR", "retry"],
    [400, "UPLOAD_INTERRUPTED", "retry"],
    [423, "UPLOAD_LOCKED", "retry"],
    [429, "RATE_LIMIT_EXCEEDED", "retry"],
    [460, "CHECKSUM_MISMATCH", "retry"],
    [409, "OFFSET_MISMATCH", "offset"],
    [423, "UPLOAD_PAUSED", "paused"],
    [410, "UPLOAD_CANCELLED", "cancelled"],
    [404, "FILE_NOT_FOUND", "gone"],
    [410, "UPLOAD_EXPIRED", "gone"],
    [410, "SESSION_TIMEOUT", "final"],
    [404, "SESSION_NOT_FOUND", "final"],
    [413, "FILE_TOO_LARGE", "final"],
    [415, "FILE_TYPE_NOT_ALLOWED", "final"],
    [403, "INSUFFICIENT_PERMISSIONS", "final"],
    [409, "TOO_MANY_FILES", "final"],
    [409, "SESSION_CLOSED", "final"],
  ];
  for (const [status, code, expected] of cases) {
    assert.equal(verdict(status, code), expected, `${status} ${code}`);
  }
});

Deno.test("retry - transient codes, and where a manual retry makes sense", () => {
  assert.ok(transient("UPLOAD_INTERRUPTED") && transient("NETWORK_ERROR"));
  assert.ok(!transient("FILE_TOO_LARGE") && !transient("UPLOAD_PAUSED"));
  for (
    const code of [
      "FILE_TOO_LARGE",
      "FILE_TYPE_NOT_ALLOWED",
      "UNSUPPORTED_MEDIA_TYPE",
      "INSUFFICIENT_PERMISSIONS",
      "SESSION_TIMEOUT",
      "SESSION_CLOSED",
    ]
  ) {
    assert.ok(!manuallyRetryable(code), code);
  }
  for (const code of ["NETWORK_ERROR", "TOO_MANY_FILES", "INVALID_REQUEST", "INTERNAL_ERROR"]) {
    assert.ok(manuallyRetryable(code), code);
  }
});
