import { isAbsolute } from "node:path";

/**
 * Why a finished file's key is not a plain relative path of safe segments, or null when it
 * is. `reserved`: the storage's own top folder (parts, manifests), which no key may enter,
 * since a file there could be listed, overwritten or removed as a part.
 */
export function keyProblem(key: string, reserved: string): string | null {
  if (key === "") return "empty";
  if (key.includes("\0")) return "NUL byte";
  if (key.includes("\\")) return "backslash";
  if (key.startsWith("/") || isAbsolute(key)) return "absolute path";
  const segments = key.split("/");
  if (segments.some((segment) => segment === "")) return "empty segment";
  if (segments.some((segment) => segment === "." || segment === "..")) return "dot segment";
  if (segments[0] === reserved) return "reserved folder";
  return null;
}

export function quote(value: string): string {
  return JSON.stringify(value);
}
