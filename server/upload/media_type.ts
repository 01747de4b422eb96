import { AppError } from "../errors.ts";

// RFC 9110 §8.3.1: media-type = type "/" subtype parameters, with type and subtype tokens
// (§5.6.2 tchar) and parameters `; name=token` or `; name="quoted string"` (§5.6.6).
// obs-text is left out: a declared type is ASCII in practice, and anything else would be
// a header value that `Headers` may refuse when the type is served back.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"';
const PARAMETER = `[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?`;
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:${PARAMETER})*$`);

/** RFC 6838 §4.2 caps type and subtype names at 127 characters each; parameters are short. */
const MAX_LENGTH = 255;

/** Is `value` a media type that can be sent back in a Content-Type header as it is? */
export function isMediaType(value: string): boolean {
  return value.length <= MAX_LENGTH && MEDIA_TYPE.test(value);
}

/**
 * The declared type of a new upload (`filetype`, or `type` as Uppy names it), trimmed; ""
 * when none. A value that is no media type (CR/LF, control characters, no slash) is refused
 * at creation: it is served back as Content-Type, where it would break the download.
 */
export function declaredMediaType(meta: Record<string, string>): string {
  for (const key of ["filetype", "type"]) {
    const value = meta[key];
    if (value === undefined || ows(value) === "") continue;
    if (!isMediaType(ows(value))) {
      throw new AppError(
        "INVALID_REQUEST",
        `Upload-Metadata ${key} is not a media type like image/jpeg`,
        { details: JSON.stringify(value.slice(0, 80)) },
      );
    }
  }
  return ows(meta.filetype ?? meta.type ?? "");
}

/** Strips optional whitespace (RFC 9110 §5.6.3: space and tab) and nothing else. */
function ows(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, "");
}
