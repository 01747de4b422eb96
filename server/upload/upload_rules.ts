import type { CategoryLimits } from "../../protocol/session.ts";
import { AppError } from "../errors.ts";
import { canonicalType, typeFromExtension, typeMatches } from "./file_types.ts";

const GENERIC_TYPES = new Set(["", "application/octet-stream", "binary/octet-stream"]);

/**
 * The type a new upload is taken to be, checked against the category at creation: the
 * declared type when specific, else the one its extension names. Either one being
 * disallowed refuses the file.
 */
export function checkDeclaredType(
  filename: string,
  declared: string,
  limits: CategoryLimits,
): string {
  const type = canonicalType(declared);
  const fromExtension = typeFromExtension(filename);
  const allowed = limits.allowedTypes;
  if (!GENERIC_TYPES.has(type) && !typeMatches(type, allowed)) {
    throw new AppError(
      "FILE_TYPE_NOT_ALLOWED",
      `Cannot accept "${filename}": type "${type}" is not allowed`,
    );
  }
  if (fromExtension && !typeMatches(fromExtension, allowed)) {
    throw new AppError(
      "FILE_TYPE_NOT_ALLOWED",
      `Cannot accept "${filename}": its extension means "${fromExtension}", which is not allowed`,
    );
  }
  const effective = GENERIC_TYPES.has(type) ? fromExtension ?? "application/octet-stream" : type;
  if (!typeMatches(effective, allowed)) {
    throw new AppError("FILE_TYPE_NOT_ALLOWED", `Cannot accept "${filename}": unknown file type`);
  }
  return effective;
}

export function checkSize(filename: string, size: number | null, max: number): void {
  if (size !== null && size > max) {
    throw new AppError(
      "FILE_TOO_LARGE",
      `Cannot accept "${filename}": ${size} bytes exceed the limit of ${max}`,
    );
  }
}
