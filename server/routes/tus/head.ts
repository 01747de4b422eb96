import type { Context } from "hono";
import { httpDate } from "./headers.ts";
import { principalOf, type TusDeps, uploadUrl } from "./context.ts";

/** tus core HEAD: the offset a client resumes from. */
export async function headUpload(c: Context, deps: TusDeps, id: string): Promise<Response> {
  const upload = await deps.service.getUpload(await principalOf(c, deps), id);
  // concatenation-unfinished: "As the partial uploads are completed, the final upload's
  // Upload-Offset will be updated" — a waiting final reports what its parts hold.
  const { offset, size } = await deps.service.progressOf(upload);
  // tus core: "The Server MUST prevent the client and/or proxies from caching the response" and include Upload-Offset.
  const headers: Record<string, string> = {
    "Cache-Control": "no-store",
    "Upload-Offset": String(offset),
  };
  // tus core: "If the size of the upload is known, the Server MUST include the Upload-Length header".
  if (size !== null) headers["Upload-Length"] = String(size);
  // creation-defer-length: "As long as the length of the upload is not known, the Server MUST set Upload-Defer-Length: 1".
  else headers["Upload-Defer-Length"] = "1";
  if (upload.metadata) headers["Upload-Metadata"] = upload.metadata;
  if (upload.status !== "completed") {
    headers["Upload-Expires"] = httpDate(await deps.service.expiresAt(upload));
  }
  if (upload.concat === "partial") headers["Upload-Concat"] = "partial";
  if (upload.concat === "final") {
    headers["Upload-Concat"] = `final;${
      upload.parts.map((p) => new URL(uploadUrl(c, p)).pathname).join(" ")
    }`;
  }
  return c.body(null, 200, headers);
}
