/**
 * The check of the stored bytes against the category: the `file-type` detector names what the
 * first bytes are, for every format it knows (images, audio, video, archives, office
 * documents, executables, ...); formats without a signature rest on the declared type and
 * extension that were checked at creation.
 */
import { fileTypeFromBuffer, supportedMimeTypes } from "file-type";
import { canonicalType, extensionFor, typeMatches } from "./file_types.ts";

/**
 * Bytes read for the check: file-type's `reasonableDetectionSizeInBytes`. Measured: a docx
 * built by Python's zipfile shows its type from 512 bytes (the generic zip from 4), an MP3
 * whose ID3 tag runs past the head is still named from it.
 */
export const SNIFF_BYTES = 4100;

/** The type and extension the stored file keeps. */
export interface CheckedType {
  type: string;
  ext: string;
}

const MEDIA = /^(image|audio|video|font|model)\//;

/** Text formats: the detector knows a few (XML, vCard) but a file need not show it. */
function textual(type: string): boolean {
  return type.startsWith("text/") || type === "application/json" || type.endsWith("xml") ||
    type.endsWith("+json");
}

/**
 * Containers whose inner format a head may not show: a docx whose `[Content_Types].xml`
 * comes after 4 KiB is a plain zip there, an old .doc a plain CFB file, an SVG plain XML.
 */
function ofContainer(container: string, declared: string): boolean {
  switch (container) {
    case "application/zip":
      return declared.endsWith("+zip") ||
        /^application\/vnd\.(openxmlformats-officedocument|oasis\.opendocument|ms-[a-z]+\.[a-z.]*macroenabled)/
          .test(declared) ||
        ["application/java-archive", "application/vnd.android.package-archive"].includes(declared);
    case "application/x-cfb":
      return /^application\/(msword|vnd\.ms-(excel|powerpoint|outlook)|vnd\.visio)$/.test(declared);
    case "application/xml":
      return textual(declared) && declared.includes("xml");
    case "video/mp4":
      return declared === "audio/mp4"; // an M4A with a generic brand (isom)
    default:
      return false;
  }
}

/**
 * Patterns that admit a type without a signature: named exactly, or by `text/*` or `*` + `/*`.
 * `image/*` stands for images the detector recognises: an SVG (script inside) must be named.
 */
function admitsUnsigned(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) =>
    p === "*/*" || (p === "text/*" && type.startsWith("text/")) ||
    (!p.endsWith("/*") && typeMatches(type, [p]))
  );
}

/**
 * What `head` (the first SNIFF_BYTES of the file, or all of a smaller one) may be stored as,
 * given the type accepted at creation; null when the category refuses the content.
 */
export async function checkContent(
  head: Uint8Array,
  declaredType: string,
  patterns: readonly string[],
): Promise<CheckedType | null> {
  const declared = canonicalType(declaredType);
  const asDeclared = { type: declared, ext: extensionFor(declared) };
  const found = head.length ? await fileTypeFromBuffer(head) : undefined;
  if (found) {
    // What the bytes are decides (a JPEG named .png is stored as .jpg).
    const type = canonicalType(found.mime);
    if (typeMatches(type, patterns)) return { type, ext: extensionFor(type) || `.${found.ext}` };
    if (!ofContainer(type, declared)) return null;
    // An SVG with an XML prolog is still text: image/* does not admit it either.
    const allowed = textual(declared)
      ? admitsUnsigned(declared, patterns)
      : typeMatches(declared, patterns);
    return allowed ? asDeclared : null;
  }
  // No signature. A format the detector knows must show its own (a "JPEG" of text is not one),
  // and so must media; text, CSV, JSON, SVG ... rest on the declared type and extension.
  const known = supportedMimeTypes.has(declared as never) || MEDIA.test(declared);
  if (known && !textual(declared)) return null;
  return admitsUnsigned(declared, patterns) ? asDeclared : null;
}
