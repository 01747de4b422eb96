/** Client-side checks before anything is sent: accept patterns, size, count, empty files. */
import type { CategoryLimits } from "../../protocol/session.ts";
import type { FileLike, Rejection } from "./types.ts";

export interface CheckContext {
  /** `accept` attribute syntax: `image/*`, `video/mp4`, `.heic`, comma separated. */
  accept?: string | undefined;
  maxSize?: number | undefined;
  maxFiles?: number | undefined;
  /** The session's limits, once a session exists. */
  limits?: CategoryLimits | null | undefined;
  /** Files already in the list (not cancelled). */
  count: number;
}

/** The type a phone may leave empty, guessed from the extension (HEIC on Android...). */
function typeOf(file: FileLike): string {
  const type = file.type.toLowerCase();
  if (type && type !== "application/octet-stream") return type;
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? "";
  if (/^(jpe?g|png|gif|webp|hei[cf]|avif)$/.test(ext)) return `image/${ext.replace("jpg", "jpeg")}`;
  return /^(mp4|mov|webm)$/.test(ext) ? `video/${ext.replace("mov", "quicktime")}` : "";
}

/** Whether `file` matches a comma list of MIME types, `type/*` patterns and `.ext`. */
export function accepts(file: FileLike, accept: string | readonly string[]): boolean {
  const patterns = (typeof accept === "string" ? accept.split(",") : accept)
    .map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (patterns.length === 0) return true;
  const name = file.name.toLowerCase();
  const type = typeOf(file);
  return patterns.some((p) =>
    p[0] === "." ? name.endsWith(p) : p === "*" || p === "*/*" || p === type ||
      (p.endsWith("/*") && type.startsWith(p.slice(0, -1)))
  );
}

/** "1.5 MB" style sizes for messages. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) bytes /= 1024, i++;
  return `${i ? bytes.toFixed(bytes < 10 ? 1 : 0) : bytes} ${units[i]}`;
}

const least = (...values: (number | undefined)[]): number =>
  Math.min(...values.map((v) => v ?? Infinity));

/** Why `file` cannot be added (English message; the view translates by `reason`), or null. */
export function check(file: FileLike, ctx: CheckContext): Rejection | null {
  const { name } = file;
  const reject = (reason: Rejection["reason"], message: string): Rejection => ({
    name,
    reason,
    message,
  });
  const limits = ctx.limits;
  if (
    (ctx.accept && !accepts(file, ctx.accept)) ||
    // A type the browser did not name is left to the server (it checks extension and bytes).
    (limits && typeOf(file) && !accepts(file, limits.allowedTypes))
  ) {
    return reject("type", `"${name}" is not an allowed file type`);
  }
  if (file.size === 0) return reject("empty", `"${name}" is empty`);
  const maxSize = least(ctx.maxSize, limits?.maxFileSize);
  if (file.size > maxSize) {
    return reject("size", `"${name}" is larger than the limit of ${formatBytes(maxSize)}`);
  }
  const maxFiles = least(ctx.maxFiles, limits?.maxFiles);
  if (ctx.count >= maxFiles) {
    return reject("count", `You can add at most ${maxFiles} files`);
  }
  return null;
}
