/** tus 1.0.0 constants shared by the server and the widget's lean tus client. */
export const TUS_VERSION = "1.0.0";
export const TUS_EXTENSIONS = [
  "creation",
  "creation-with-upload",
  "creation-defer-length",
  "termination",
  "expiration",
  "checksum",
  "concatenation",
  "concatenation-unfinished",
] as const;
export const TUS_CHECKSUM_ALGORITHMS = ["sha1", "sha256", "md5"] as const;
export type ChecksumAlgorithm = (typeof TUS_CHECKSUM_ALGORITHMS)[number];
export const OFFSET_CONTENT_TYPE = "application/offset+octet-stream";
/** Headers a browser must be allowed to read and send across origins. */
export const TUS_EXPOSED_HEADERS = [
  "Location",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Defer-Length",
  "Upload-Metadata",
  "Upload-Expires",
  "Upload-Concat",
  "Tus-Version",
  "Tus-Resumable",
  "Tus-Extension",
  "Tus-Max-Size",
  "Tus-Checksum-Algorithm",
];
export const TUS_ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Defer-Length",
  "Upload-Metadata",
  "Upload-Checksum",
  "Upload-Concat",
  "Tus-Resumable",
  "X-HTTP-Method-Override",
  "X-Requested-With",
];
