/**
 * The text of every error code (protocol/errors.ts, plus the browser's NETWORK_ERROR) in
 * each language, side by side: a code or a translation missing here fails `deno check`.
 * One table rather than one per dictionary, so the bundle carries each code once.
 */
import type { FileError, Rejection } from "../engine/types.ts";

/** English, a bar, then Simplified Chinese: a missing translation fails `deno check`. */
type Texts = `${string}|${string}`;
// Codes a user cannot act on share one text (the server's message stays in the title).
const REFUSED_REQUEST: Texts = "Server refused|服务器拒绝";
const BAD_SESSION: Texts = "Invalid session|会话无效";
const SERVER_ERROR: Texts = "Server error|服务器出错";

/** English, then Simplified Chinese. */
export const ERROR_TEXTS: Readonly<Record<FileError["code"], Texts>> = {
  NETWORK_ERROR: "Network error|网络错误",
  EMPTY_FILE: "Empty file|空文件",
  SESSION_NOT_FOUND: BAD_SESSION,
  INVALID_SESSION: BAD_SESSION,
  FILE_NOT_FOUND: "Upload gone|上传已不存在",
  UPLOAD_NOT_STARTED: REFUSED_REQUEST,
  UPLOAD_ALREADY_COMPLETED: "Uploaded|已上传",
  INSUFFICIENT_PERMISSIONS: "Link invalid or expired|链接无效或已过期",
  RATE_LIMIT_EXCEEDED: "Too many requests|请求过于频繁",
  CONNECTION_TIMEOUT: "Connection timed out|连接超时",
  UPLOAD_PAUSED: "Paused|已暂停",
  UPLOAD_CANCELLED: "Cancelled|已取消",
  UPLOAD_EXPIRED: "Upload expired|上传已过期",
  UPLOAD_INTERRUPTED: "Connection dropped|连接中断",
  UPLOAD_LOCKED: "Busy, try again|正忙，请重试",
  SESSION_TIMEOUT: "Session expired|会话已过期",
  SESSION_CLOSED: "Session closed|会话已关闭",
  FILE_TOO_LARGE: "File too large|文件太大",
  REQUEST_TOO_LARGE: REFUSED_REQUEST,
  FILE_TYPE_NOT_ALLOWED: "File type not allowed|不支持此文件类型",
  TOO_MANY_FILES: "Too many files|文件太多",
  CHECKSUM_MISMATCH: "Data damaged|数据出错",
  CHECKSUM_UNSUPPORTED: REFUSED_REQUEST,
  CONCAT_PART_INVALID: REFUSED_REQUEST,
  OFFSET_MISMATCH: REFUSED_REQUEST,
  INVALID_REQUEST: REFUSED_REQUEST,
  METHOD_NOT_ALLOWED: REFUSED_REQUEST,
  NOT_FOUND: REFUSED_REQUEST,
  UNSUPPORTED_MEDIA_TYPE: REFUSED_REQUEST,
  TUS_VERSION_UNSUPPORTED: REFUSED_REQUEST,
  ORIGIN_NOT_ALLOWED: "Site not allowed|此网站无权上传",
  MESSAGE_TOO_LARGE: REFUSED_REQUEST,
  STORAGE_ERROR: SERVER_ERROR,
  STORAGE_FULL: "Server full|服务器空间已满",
  INTERNAL_ERROR: SERVER_ERROR,
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
