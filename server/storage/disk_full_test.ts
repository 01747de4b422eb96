import assert from "node:assert/strict";
import { isDiskFull } from "./disk_full.ts";

Deno.test("isDiskFull - ENOSPC, EDQUOT and SQLITE_FULL, also wrapped; nothing else", () => {
  const enospc = Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
  assert.equal(isDiskFull(enospc), true);
  assert.equal(isDiskFull(Object.assign(new Error("quota"), { code: "EDQUOT" })), true);
  assert.equal(
    isDiskFull(Object.assign(new Error("database or disk is full"), { errcode: 13 })),
    true,
  );
  assert.equal(isDiskFull(new Error("wrapped", { cause: enospc })), true);
  assert.equal(isDiskFull(Object.assign(new Error("io"), { code: "EIO" })), false);
  assert.equal(isDiskFull(new Deno.errors.NotFound("gone")), false);
  assert.equal(isDiskFull(null), false);
});
