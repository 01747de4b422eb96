import type { Context } from "hono";
import { OFFSET_CONTENT_TYPE } from "../../../protocol/tus.ts";
import { AppError } from "../../errors.ts";
import type { Principal } from "../../upload/principal.ts";
import type { UploadRecord } from "../../state/store.ts";
import { httpDate, integerHeader, parseChecksum } from "./headers.ts";
import { refuseChecksumTrailer } from "./trailer.ts";
import { principalOf, type TusDeps } from "./context.ts";

/** Streams the request body into the upload at `offset` (shared by PATCH and creation-with-upload). */
export async function patchBody(
  c: Context,
  deps: TusDeps,
  principal: Principal,
  id: string,
  offset: number,
  given?: ReadableStream<Uint8Array> | null,
): Promise<UploadRecord> {
  const body = given ?? c.req.raw.body ??
    new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
  return await deps.service.patch(principal, id, body, {
    offset,
    contentLength: integerHeader("Content-Length", c.req.header("Content-Length")),
    uploadLength: integerHeader("Upload-Length", c.req.header("Upload-Length")),
    checksum: parseChecksum(c.req.header("Upload-Checksum")),
  });
}

/** tus core PATCH. */
export async function patchUpload(c: Context, deps: TusDeps, id: string): Promise<Response> {
  // tus core: "All PATCH requests MUST use Content-Type: application/offset+octet-stream, otherwise 415".
  if (c.req.header("Content-Type")?.split(";")[0]?.trim() !== OFFSET_CONTENT_TYPE) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", `PATCH bodies must be ${OFFSET_CONTENT_TYPE}`);
  }
  refuseChecksumTrailer(c.req.header("Trailer"));
  // tus core: "The Upload-Offset header's value MUST be equal to the current offset" — so it must be present.
  const offset = integerHeader("Upload-Offset", c.req.header("Upload-Offset"));
  if (offset === null) throw new AppError("INVALID_REQUEST", "The Upload-Offset header is missing");
  const principal = await principalOf(c, deps);
  const upload = await patchBody(c, deps, principal, id, offset);
  // tus core: "The Server MUST acknowledge successful PATCH requests with 204 and the new Upload-Offset".
  const headers: Record<string, string> = { "Upload-Offset": String(upload.offset) };
  if (upload.status !== "completed") {
    headers["Upload-Expires"] = httpDate(await deps.service.expiresAt(upload));
  }
  return c.body(null, 204, headers);
}
