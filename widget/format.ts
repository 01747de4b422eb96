/** Sizes, speeds and durations for display, and size attributes such as "20MB". */
import type { Strings } from "./i18n/strings.ts";

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/**
 * 1536 → "1.5 KB" (binary units, one decimal under 10, none above). Both built-in
 * languages write numbers alike, so no `Intl` here.
 */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${+value.toFixed(unit && value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** Bytes per second → "1.2 MB/s" (localized suffix). */
export function formatSpeed(bytesPerSecond: number, strings: Strings): string {
  return strings.perSecond(formatBytes(bytesPerSecond));
}

/** Seconds left → "2 min 5 s left"; "" when unknown. Rounded up so it never shows 0. */
export function formatEta(seconds: number | null, strings: Strings): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "";
  const total = Math.max(1, Math.ceil(seconds));
  return strings.eta(Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60);
}

/** Whole percent of a 0..1 fraction, floored so 100 means done. */
export function percent(fraction: number): number {
  return Math.floor(Math.min(1, Math.max(0, fraction)) * 100);
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i;

/**
 * A size attribute, read as the server reads its limits: `1048576`, `500KB`, `20MB`
 * (decimal), `2GiB` (binary). Undefined for a missing or malformed value.
 */
export function parseSize(value: string | null | undefined): number | undefined {
  const match = value ? SIZE.exec(value) : null;
  if (!match) return undefined;
  const power = " kmgt".indexOf((match[2] || " ").toLowerCase());
  return Math.floor(Number(match[1]) * (match[3] ? 1024 : 1000) ** power) || undefined;
}
