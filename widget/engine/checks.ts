/** Client-side checks before anything is sent: accept patterns, size, count, empty files. */
import type { CategoryLimits } from "../../protocol/session.ts";
import { formatBytes } from "../format.ts";
import { rejectedText } from "../i18n/errors.ts";
import type { FileLike, Rejection } from "./types.ts";

// One formatter for the engine's messages and the view (the bundle carries one copy).
export { formatBytes };

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

const least = (...values: (number | undefined)[]): number =>
  Math.min(...values.map((v) => v ?? Infinity));

/**
 * Why `file` cannot be added, or null. The message is the English text of i18n/errors.ts
 * (one copy of each text in the bundle); the view translates by `reason` and `limit`.
 */
export function check(file: FileLike, ctx: CheckContext): Rejection | null {
  const { accept, limits } = ctx;
  const maxSize = least(ctx.maxSize, limits?.maxFileSize);
  const maxFiles = least(ctx.maxFiles, limits?.maxFiles);
  const types = accept && !accepts(file, accept)
    ? accept
    // A type the browser did not name is left to the server (it checks extension and bytes).
    : limits && typeOf(file) && !accepts(file, limits.allowedTypes)
    ? limits.allowedTypes.join(",")
    : null;
  const [reason, limit = ""]: [Rejection["reason"], string] | [] = types !== null
    ? ["type", types]
    : !file.size
    ? ["empty", ""]
    : file.size > maxSize
    ? ["size", formatBytes(maxSize)]
    : ctx.count >= maxFiles
    ? ["count", String(maxFiles)]
    : [];
  return reason
    ? { name: file.name, reason, limit, message: rejectedText(0, reason, file.name, limit) }
    : null;
}
