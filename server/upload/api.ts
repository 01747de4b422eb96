import type { ChecksumAlgorithm } from "../../protocol/tus.ts";

export interface CreateUploadInput {
  /** null with creation-defer-length. */
  length: number | null;
  metadata: Record<string, string>;
  rawMetadata: string;
  concat: { kind: "none" } | { kind: "partial" } | { kind: "final"; parts: string[] };
}

export interface PatchInput {
  offset: number;
  /** Content-Length, when the request has one. */
  contentLength: number | null;
  /** Upload-Length sent with a PATCH of a deferred-length upload. */
  uploadLength: number | null;
  checksum: { algorithm: ChecksumAlgorithm; digest: Uint8Array } | null;
}
