/**
 * File type rules: allowed-type patterns, extensions, and magic numbers. The declared type
 * and the extension are checked at creation; the first bytes are sniffed once stored.
 */

/** MIME type -> canonical extension of the stored file. */
const EXTENSIONS: Record<string, string> = {
  "image/jpeg": ".jpg",
  "image/png": ".png",
  "image/gif": ".gif",
  "image/webp": ".webp",
  "image/heic": ".heic",
  "image/heif": ".heif",
  "image/avif": ".avif",
  "video/mp4": ".mp4",
  "video/quicktime": ".mov",
  "video/webm": ".webm",
  "application/pdf": ".pdf",
};

/** Extension (lowercase, no dot) -> MIME type. */
const BY_EXTENSION: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jfif: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
  avif: "image/avif",
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  qt: "video/quicktime",
  webm: "video/webm",
  pdf: "application/pdf",
};

/** Bytes needed to sniff every type below. */
export const SNIFF_BYTES = 32;

/** `pattern` is a MIME type or `type/*`. */
export function typeMatches(type: string, patterns: readonly string[]): boolean {
  const t = type.toLowerCase();
  return patterns.some((p) =>
    p === "*/*" || p === t || (p.endsWith("/*") && t.startsWith(p.slice(0, -1)))
  );
}

export function typeFromExtension(filename: string): string | null {
  const dot = filename.lastIndexOf(".");
  if (dot <= 0 || dot === filename.length - 1) return null;
  return BY_EXTENSION[filename.slice(dot + 1).toLowerCase()] ?? null;
}

export function extensionFor(type: string): string {
  return EXTENSIONS[type.toLowerCase()] ?? "";
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]);
const AVIF_BRANDS = new Set(["avif", "avis"]);
const QUICKTIME_ATOMS = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"]);

/** The type the first bytes show, or null when unknown. */
export function sniffType(head: Uint8Array): string | null {
  const b = head;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 8 && ascii(b, 0, 8) === "\x89PNG\r\n\x1a\n") return "image/png";
  if (b.length >= 6 && (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a")) {
    return "image/gif";
  }
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") {
    return "image/webp";
  }
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    return "video/webm";
  }
  if (b.length >= 5 && ascii(b, 0, 5) === "%PDF-") return "application/pdf";
  if (b.length >= 12 && ascii(b, 4, 8) === "ftyp") {
    const brand = ascii(b, 8, 12).toLowerCase();
    if (HEIF_BRANDS.has(brand)) {
      return brand.startsWith("mif") || brand.startsWith("msf") ? "image/heif" : "image/heic";
    }
    if (AVIF_BRANDS.has(brand)) return "image/avif";
    if (brand === "qt  ") return "video/quicktime";
    return "video/mp4";
  }
  if (b.length >= 8 && QUICKTIME_ATOMS.has(ascii(b, 4, 8))) return "video/quicktime";
  return null;
}

/**
 * Whether stored bytes fit the category. The sniffed type decides (a JPEG named .png is
 * still a JPEG, stored as .jpg); unknown bytes pass only where any type is allowed.
 */
export function contentAllowed(head: Uint8Array, patterns: readonly string[]): boolean {
  const sniffed = sniffType(head);
  return sniffed === null
    ? typeMatches("application/octet-stream", patterns)
    : typeMatches(sniffed, patterns);
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
