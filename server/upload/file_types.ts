/**
 * File type rules: allowed-type patterns, aliases and extensions. The declared type and the
 * extension are checked at creation; the stored bytes are checked by content_check.ts.
 */

/** MIME type -> canonical extension of the stored file (else the detector's, see content_check). */
const EXTENSIONS: Record<string, string> = {
  "image/jpeg": ".jpg",
  "image/png": ".png",
  "image/gif": ".gif",
  "image/webp": ".webp",
  "image/heic": ".heic",
  "image/heif": ".heif",
  "image/avif": ".avif",
  "image/svg+xml": ".svg",
  "video/mp4": ".mp4",
  "video/quicktime": ".mov",
  "video/webm": ".webm",
  "audio/mpeg": ".mp3",
  "audio/mp4": ".m4a",
  "audio/wav": ".wav",
  "audio/ogg": ".ogg",
  "audio/flac": ".flac",
  "application/pdf": ".pdf",
  "application/zip": ".zip",
  "application/msword": ".doc",
  "application/vnd.ms-excel": ".xls",
  "application/vnd.ms-powerpoint": ".ppt",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
  "application/vnd.oasis.opendocument.text": ".odt",
  "application/epub+zip": ".epub",
  "application/json": ".json",
  "application/xml": ".xml",
  "text/xml": ".xml",
  "text/plain": ".txt",
  "text/csv": ".csv",
  "text/markdown": ".md",
};

/** Extension (lowercase, no dot) -> MIME type. */
const BY_EXTENSION: Record<string, string> = {
  ...Object.fromEntries(Object.entries(EXTENSIONS).map(([type, ext]) => [ext.slice(1), type])),
  jpeg: "image/jpeg",
  jfif: "image/jpeg",
  m4v: "video/mp4",
  qt: "video/quicktime",
  xml: "application/xml",
  oga: "audio/ogg",
  opus: "audio/ogg",
  text: "text/plain",
  markdown: "text/markdown",
};

/**
 * Other names of one type: what browsers declare (Windows says x-zip-compressed for .zip)
 * and the names the detector (file-type) reports. Both sides of a match are canonicalised.
 */
const ALIASES: Record<string, string> = {
  "application/x-zip-compressed": "application/zip",
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "audio/mp3": "audio/mpeg",
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "audio/vnd.wave": "audio/wav",
  "audio/x-flac": "audio/flac",
  "audio/x-m4a": "audio/mp4",
  "audio/x-aiff": "audio/aiff",
  "video/x-matroska": "video/matroska",
  "video/x-msvideo": "video/vnd.avi",
  "video/avi": "video/vnd.avi",
  "text/comma-separated-values": "text/csv",
};

/** The canonical, lowercase name of a MIME type (parameters dropped). */
export function canonicalType(type: string): string {
  const t = type.split(";")[0]!.trim().toLowerCase();
  return ALIASES[t] ?? t;
}

/** `pattern` is a MIME type or `type/*`. */
export function typeMatches(type: string, patterns: readonly string[]): boolean {
  const t = canonicalType(type);
  return patterns.some((pattern) => {
    const p = pattern.endsWith("/*") ? pattern : canonicalType(pattern);
    return p === "*/*" || p === t || (p.endsWith("/*") && t.startsWith(p.slice(0, -1)));
  });
}

export function typeFromExtension(filename: string): string | null {
  const dot = filename.lastIndexOf(".");
  if (dot <= 0 || dot === filename.length - 1) return null;
  return BY_EXTENSION[filename.slice(dot + 1).toLowerCase()] ?? null;
}

export function extensionFor(type: string): string {
  return EXTENSIONS[canonicalType(type)] ?? "";
}

/** Display-safe filename: no path, no control characters, at most 255 characters. */
export function sanitizeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  // Control and bidi-override characters could spoof what a filename looks like on screen.
  // deno-lint-ignore no-control-regex
  const unsafe = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g;
  const clean = base.normalize("NFC").replace(unsafe, "").trim();
  const trimmed = clean.replace(/^\.+/, "");
  return (trimmed || "file").slice(0, 255);
}
