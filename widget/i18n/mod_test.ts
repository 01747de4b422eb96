import assert from "node:assert/strict";
import { ERRORS } from "../../protocol/errors.ts";
import { en, resolveLang, stringsFor, supportedLang, zhCN } from "./mod.ts";

Deno.test("i18n - the first supported language of element, document, browser wins", () => {
  assert.equal(resolveLang(["en", "zh-CN", "zh-CN"]), "en");
  assert.equal(resolveLang([null, "zh-CN", "en-US"]), "zh-CN");
  assert.equal(resolveLang(["", undefined, "fr-FR", "zh-TW"]), "zh-CN");
  assert.equal(resolveLang(["fr", "de"]), "en");
  assert.equal(resolveLang([]), "en");
});

Deno.test("i18n - tags map to the built-in dictionaries", () => {
  for (const tag of ["zh", "zh-CN", "zh-Hans-CN", "ZH_cn", "zh-TW"]) {
    assert.equal(supportedLang(tag), "zh-CN", tag);
  }
  for (const tag of ["en", "en-GB", "EN-us"]) assert.equal(supportedLang(tag), "en", tag);
  assert.equal(supportedLang("ja"), null);
  assert.equal(stringsFor("zh-CN"), zhCN);
  assert.equal(stringsFor("en"), en);
});

Deno.test("i18n - plurals and parameters", () => {
  assert.equal(en.added(1), "1 file added");
  assert.equal(en.added(3), "3 files added");
  assert.equal(zhCN.added(3), "已添加 3 个文件");
  assert.equal(en.retrying(2, 3), "Retry 2/3");
  assert.equal(zhCN.retrying(2, 3), "重试 2/3");
  assert.equal(en.fileAction(en.actions.pause, "a.jpg"), "Pause a.jpg");
  assert.equal(zhCN.fileAction(zhCN.actions.retry, "a.jpg"), "重试 a.jpg");
  assert.equal(en.limits(20, "2 GB"), "Up to 20 files, 2 GB each");
  assert.equal(en.limits(null, null), "");
  assert.equal(zhCN.limits(1, null), "最多 1 个文件");
  assert.match(en.rejected("size", "big.mov", "2 GB"), /big\.mov.*2 GB/);
  assert.match(zhCN.rejected("count", "x.jpg", "20"), /x\.jpg.*20/);
});

Deno.test("i18n - both dictionaries translate every status, connection and action", () => {
  for (const strings of [en, zhCN]) {
    for (const value of [...Object.values(strings.status), ...Object.values(strings.actions)]) {
      assert.ok(value.length > 0);
    }
    assert.equal(strings.connection.idle, "");
    assert.ok(strings.connection.polling && strings.connection.reconnecting);
  }
});

Deno.test("i18n - every error code has an English and a Chinese text, not the server's", () => {
  // The type makes a missing code a `deno check` error; this guards the content.
  for (const code of [...Object.keys(ERRORS), "NETWORK_ERROR", "EMPTY_FILE"]) {
    const [enText, zhText] = [en.error(code, "SERVER"), zhCN.error(code, "SERVER")];
    assert.ok(enText !== "SERVER" && /^[\x20-\x7e]+$/.test(enText), `${code} en: ${enText}`);
    assert.ok(zhText !== "SERVER" && /[\u4e00-\u9fff]/.test(zhText), `${code} zh: ${zhText}`);
  }
  assert.equal(zhCN.error("FILE_TOO_LARGE", "The file exceeds the size limit"), "文件太大");
  assert.equal(en.error("SOME_NEWER_CODE", "Told by a newer server"), "Told by a newer server");
  assert.equal(
    zhCN.failed("a.jpg", zhCN.error("STORAGE_FULL", "x")),
    "a.jpg 上传失败：服务器繁忙，请稍后重试",
  );
});

Deno.test("i18n - no text promises what the widget does not do (uploads in the background)", () => {
  for (const strings of [en, zhCN]) {
    for (const mobile of [true, false]) {
      assert.doesNotMatch(strings.pickHint(mobile), /background|后台/);
    }
  }
  assert.match(zhCN.pickHint(true), /请勿关闭/);
  assert.match(en.pickHint(true), /Keep this page open/);
});

Deno.test("i18n - refusals before sending name the file, the reason and the limit", () => {
  assert.equal(en.rejected("size", "big.mov", "2 GB"), "“big.mov”: File too large (2 GB)");
  assert.equal(zhCN.rejected("size", "big.mov", "2 GB"), "“big.mov”: 文件太大 (2 GB)");
  assert.equal(zhCN.rejected("empty", "e.jpg", ""), "“e.jpg”: 空文件");
  assert.equal(zhCN.connection.offline, "网络已断开");
  assert.equal(en.connection.reconnecting, "Reconnecting…");
});
