import {
  type ChecksumAlgorithm,
  TUS_CHECKSUM_ALGORITHMS,
  TUS_VERSION,
} from "../../../protocol/tus.ts";
import { AppError } from "../../errors.ts";

/** tus: "The Tus-Resumable header MUST be included in every request and response except for OPTIONS". */
export function checkTusResumable(value: string | undefined): void {
  if (value !== TUS_VERSION) {
    throw new AppError(
      "TUS_VERSION_UNSUPPORTED",
      value ? `Tus-Resumable "${value}" is not supported` : "The Tus-Resumable header is missing",
      { headers: { "Tus-Version": TUS_VERSION } },
    );
  }
}

/** A non-negative integer header, or null when absent; 400 when malformed. */
export function integerHeader(name: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,16}$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new AppError(
      "INVALID_REQUEST",
      `Invalid ${name} "${value.slice(0, 40)}": expected a non-negative integer`,
    );
  }
  return Number(value);
}

const KEY = /^[^\s,]+$/;

function decodeBase64(text: string): string {
  const binary = atob(text);
  return new TextDecoder("utf-8", { fatal: true }).decode(
    Uint8Array.from(binary, (c) => c.charCodeAt(0)),
  );
}

/** tus creation: "key base64,key2 base64" where keys are unique and values base64 encoded. */
export function parseMetadata(header: string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (header === undefined || header.trim() === "") return result;
  if (header.length > 8192) {
    throw new AppError("INVALID_REQUEST", "Upload-Metadata is longer than 8 KiB");
  }
  for (const pair of header.split(",")) {
    const [key, value, extra] = pair.trim().split(" ");
    if (!key || !KEY.test(key) || extra !== undefined || Object.hasOwn(result, key)) {
      throw new AppError(
        "INVALID_REQUEST",
        `Invalid Upload-Metadata pair "${pair.trim().slice(0, 60)}"`,
      );
    }
    try {
      result[key] = value === undefined ? "" : decodeBase64(value);
    } catch {
      throw new AppError("INVALID_REQUEST", `Upload-Metadata value of "${key}" is not base64`);
    }
  }
  return result;
}

/** tus checksum: `Upload-Checksum: <algorithm> <base64 digest>`. */
export function parseChecksum(header: string | undefined) {
  if (header === undefined) return null;
  const [name, digest] = header.trim().split(" ");
  const algorithm = (name ?? "").toLowerCase();
  if (!(TUS_CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    // tus checksum: "the Server MUST respond with 400 Bad Request" for an unsupported algorithm.
    throw new AppError(
      "CHECKSUM_UNSUPPORTED",
      `Checksum algorithm "${algorithm.slice(0, 20)}" is not supported`,
    );
  }
  try {
    const bytes = Uint8Array.from(atob(digest ?? ""), (c) => c.charCodeAt(0));
    if (bytes.length === 0) throw new Error("empty");
    return { algorithm: algorithm as ChecksumAlgorithm, digest: bytes };
  } catch {
    throw new AppError("INVALID_REQUEST", "Upload-Checksum digest is not base64");
  }
}

/** tus concatenation: `partial`, or `final;<url> <url>` with upload URLs or ids. */
export function parseConcat(header: string | undefined):
  | { kind: "none" }
  | { kind: "partial" }
  | { kind: "final"; parts: string[] } {
  if (header === undefined) return { kind: "none" };
  const value = header.trim();
  if (value === "partial") return { kind: "partial" };
  if (value.startsWith("final;")) {
    const parts = value.slice(6).trim().split(/\s+/).filter(Boolean).map((url) => {
      const path = url.replace(/^https?:\/\/[^/]+/i, "");
      const segment = path.split("/").filter(Boolean).pop() ?? "";
      try {
        return decodeURIComponent(segment);
      } catch {
        // decodeURIComponent throws URIError on a broken escape such as %E0%A4%A.
        throw new AppError(
          "INVALID_REQUEST",
          `Upload-Concat names "${segment.slice(0, 60)}", which is not a valid URL`,
        );
      }
    });
    if (parts.length === 0) {
      throw new AppError("INVALID_REQUEST", "Upload-Concat final lists no uploads");
    }
    return { kind: "final", parts };
  }
  throw new AppError("INVALID_REQUEST", `Invalid Upload-Concat "${value.slice(0, 60)}"`);
}

export function httpDate(epochMs: number): string {
  return new Date(epochMs).toUTCString();
}
