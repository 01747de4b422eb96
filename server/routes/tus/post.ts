import type { Context } from "hono";
import { OFFSET_CONTENT_TYPE } from "../../../protocol/tus.ts";
import { AppError } from "../../errors.ts";
import { httpDate, integerHeader, parseConcat, parseMetadata } from "./headers.ts";
import { refuseChecksumTrailer } from "./trailer.ts";
import { principalOf, type TusDeps, uploadUrl } from "./context.ts";
import { patchBody } from "./patch.ts";
import { presentBody } from "./body.ts";

/** tus creation (+ creation-with-upload, creation-defer-length, concatenation). */
export async function postUpload(c: Context, deps: TusDeps): Promise<Response> {
  const principal = await principalOf(c, deps);
  const concat = parseConcat(c.req.header("Upload-Concat"));
  refuseChecksumTrailer(c.req.header("Trailer"));
  const length = integerHeader("Upload-Length", c.req.header("Upload-Length"));
  const defer = c.req.header("Upload-Defer-Length");
  if (defer !== undefined && defer !== "1") {
    throw new AppError(
      "INVALID_REQUEST",
      `Upload-Defer-Length must be 1, not "${defer.slice(0, 20)}"`,
    );
  }
  if (concat.kind === "final") {
    // tus concatenation: the Client MUST NOT include the Upload-Length header in the final upload creation.
    if (length !== null) {
      throw new AppError("INVALID_REQUEST", "A final upload must not carry Upload-Length");
    }
  } else if ((length === null) === (defer === undefined)) {
    // tus creation: Upload-Length or Upload-Defer-Length: 1 MUST be given, not both.
    throw new AppError(
      "INVALID_REQUEST",
      "Send exactly one of Upload-Length and Upload-Defer-Length: 1",
    );
  }
  // tus creation: "If the length of the upload exceeds the maximum, the Server MUST respond with 413".
  if (length !== null && length > deps.maxSize) {
    throw new AppError(
      "FILE_TOO_LARGE",
      `Upload-Length ${length} exceeds Tus-Max-Size ${deps.maxSize}`,
    );
  }
  const contentType = c.req.header("Content-Type");
  const contentLength = integerHeader("Content-Length", c.req.header("Content-Length"));
  // curl and Hurl send an empty creation POST with no Content-Length and no Content-Type.
  const body = await presentBody(c.req.raw, contentLength);
  const hasBody = body !== null;
  if (hasBody && contentType?.split(";")[0]?.trim() !== OFFSET_CONTENT_TYPE) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", `A creation body must be ${OFFSET_CONTENT_TYPE}`);
  }
  const raw = c.req.header("Upload-Metadata") ?? "";
  const upload = await deps.service.createUpload(principal, {
    length,
    metadata: parseMetadata(raw),
    rawMetadata: raw,
    concat,
  });
  const headers: Record<string, string> = { Location: uploadUrl(c, upload.id) };
  let record = upload;
  if (hasBody && concat.kind !== "final") {
    try {
      record = await patchBody(c, deps, principal, upload.id, 0, body);
    } catch (error) {
      // creation-with-upload: the upload exists even if its first bytes failed; the client resumes with HEAD.
      if (error instanceof AppError) {
        error.headers.Location = headers.Location!;
      }
      throw error;
    }
    headers["Upload-Offset"] = String(record.offset);
  }
  if (record.status !== "completed") {
    headers["Upload-Expires"] = httpDate(await deps.service.expiresAt(record));
  }
  return c.body(null, 201, headers);
}
