import assert from "node:assert/strict";
import { formatBytes, formatEta, formatSpeed, parseSize, percent } from "./format.ts";
import { en, zhCN } from "./i18n/mod.ts";

Deno.test("format - sizes in binary units, one decimal under 10", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(777), "777 B");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(10 * 1024 * 1024), "10 MB");
  assert.equal(formatBytes(2 * 1024 ** 3), "2 GB");
  assert.equal(formatBytes(1024 ** 5 * 3), "3072 TB");
  assert.equal(formatBytes(-5), "0 B");
});

Deno.test("format - speed and time left, localized", () => {
  assert.equal(formatSpeed(1.25 * 1024 * 1024, en), "1.3 MB/s");
  assert.equal(formatSpeed(2048, zhCN), "2 KB/秒");
  assert.equal(formatEta(8.2, en), "9 s left");
  assert.equal(formatEta(125, en), "2 min 5 s left");
  assert.equal(formatEta(3720, en), "1 h 2 min left");
  assert.equal(formatEta(125, zhCN), "剩余 2 分 5 秒");
  assert.equal(formatEta(0.1, en), "1 s left");
  assert.equal(formatEta(null, en), "");
  assert.equal(formatEta(Infinity, en), "");
});

Deno.test("format - percent floors and clamps", () => {
  assert.equal(percent(0.999), 99);
  assert.equal(percent(1), 100);
  assert.equal(percent(1.2), 100);
  assert.equal(percent(-1), 0);
});

Deno.test("format - size attributes read as the server reads its limits", () => {
  assert.equal(parseSize("1048576"), 1048576);
  assert.equal(parseSize("500KB"), 500_000);
  assert.equal(parseSize("20MB"), 20_000_000);
  assert.equal(parseSize("2GiB"), 2 * 2 ** 30);
  assert.equal(parseSize(" 1.5 mib "), 1.5 * 2 ** 20);
  assert.equal(parseSize("8M"), 8_000_000);
  for (const bad of [null, undefined, "", "big", "-1MB", "0", "1 PB"]) {
    assert.equal(parseSize(bad), undefined, String(bad));
  }
});
