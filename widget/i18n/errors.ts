/**
 * The text of every error code (protocol/errors.ts, plus the browser's NETWORK_ERROR) in
 * each language, side by side: a code or a translation missing here fails `deno check`.
 * One table rather than one per dictionary, so the bundle carries each code once.
 */
import type { FileError, Rejection } from "../engine/types.ts";

/** English, a bar, then Simplified Chinese: a missing translation fails `deno check`. */
type Texts = `${string}|${string}`;
// Codes that ask the same of the user share one text (the server's message is the title).
const LOST: Texts = "Connection lost|网络连接中断";
const GONE: Texts = "Upload link invalid or expired|上传链接无效或已过期";
const BUSY: Texts = "Server busy, retry later|服务器繁忙，请稍后重试";
const FAULT: Texts = "Server error, retry later|服务器出错，请稍后重试";
const REFUSED_REQUEST: Texts = "Server refused|服务器拒绝";

/** English, then Simplified Chinese. */
export const ERROR_TEXTS: Readonly<Record<FileError["code"], Texts>> = {
  NETWORK_ERROR: LOST,
  CONNECTION_TIMEOUT: LOST,
  UPLOAD_INTERRUPTED: LOST,
  SESSION_NOT_FOUND: GONE,
  INVALID_SESSION: GONE,
  INSUFFICIENT_PERMISSIONS: GONE,
  SESSION_TIMEOUT: GONE,
  SESSION_CLOSED: GONE,
  UPLOAD_EXPIRED: GONE,
  FILE_NOT_FOUND: GONE,
  RATE_LIMIT_EXCEEDED: BUSY,
  UPLOAD_LOCKED: BUSY,
  STORAGE_FULL: BUSY,
  STATE_UNAVAILABLE: BUSY,
  STORAGE_UNAVAILABLE: BUSY,
  STORAGE_ERROR: FAULT,
  INTERNAL_ERROR: FAULT,
  UPLOAD_NOT_STARTED: REFUSED_REQUEST,
  REQUEST_TOO_LARGE: REFUSED_REQUEST,
  CHECKSUM_MISMATCH: REFUSED_REQUEST,
  CHECKSUM_UNSUPPORTED: REFUSED_REQUEST,
  CONCAT_PART_INVALID: REFUSED_REQUEST,
  OFFSET_MISMATCH: REFUSED_REQUEST,
  INVALID_REQUEST: REFUSED_REQUEST,
  METHOD_NOT_ALLOWED: REFUSED_REQUEST,
  NOT_FOUND: REFUSED_REQUEST,
  UNSUPPORTED_MEDIA_TYPE: REFUSED_REQUEST,
  TUS_VERSION_UNSUPPORTED: REFUSED_REQUEST,
  ORIGIN_NOT_ALLOWED: REFUSED_REQUEST,
  MESSAGE_TOO_LARGE: REFUSED_REQUEST,
  UPLOAD_ALREADY_COMPLETED: "Uploaded|已上传",
  UPLOAD_PAUSED: "Paused|已暂停",
  UPLOAD_CANCELLED: "Cancelled|已取消",
  FILE_TOO_LARGE: "File too large|文件太大",
  FILE_TYPE_NOT_ALLOWED: "File type not allowed|不支持此文件类型",
  TOO_MANY_FILES: "Too many files|文件太多",
  EMPTY_FILE: "Empty file|空文件",
};

/**
 * The text of `code` in language `lang` (0: en, 1: zh-CN). A code this build does not know
 * (a newer server) shows the server's message.
 */
export const errorText = (lang: 0 | 1, code: string, message: string): string =>
  (ERROR_TEXTS as Record<string, string>)[code]?.split("|")[lang] ?? message;

/** The code of each refusal before sending (the server's code where it has one). */
export const REFUSED = {
  type: "FILE_TYPE_NOT_ALLOWED",
  size: "FILE_TOO_LARGE",
  count: "TOO_MANY_FILES",
  empty: "EMPTY_FILE",
} as const satisfies Record<Rejection["reason"], FileError["code"]>;

/** “big.mov”: The file is too large (2 GB). */
export const rejectedText = (
  lang: 0 | 1,
  reason: Rejection["reason"],
  name: string,
  limit: string,
): string => `“${name}”: ${errorText(lang, REFUSED[reason], "")}${limit && ` (${limit})`}`;
