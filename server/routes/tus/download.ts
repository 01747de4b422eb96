import type { Context } from "hono";
import { AppError } from "../../errors.ts";
import type { UploadRecord } from "../../state/store.ts";
import { isMediaType } from "../../upload/media_type.ts";
import { principalOf, type TusDeps } from "./context.ts";

function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return null;
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) {
    throw new AppError("INVALID_REQUEST", `Range "${header}" is not satisfiable`, {
      headers: { "Content-Range": `bytes */${size}` },
    });
  }
  return { start, end };
}

/**
 * What the browser may do with the bytes. An anonymous upload's type is whatever its
 * uploader claimed (no category check), so it is served as opaque bytes: a `text/html`
 * upload must not run as a page of this origin. `sandbox` and `nosniff` hold for every
 * download, in case a browser renders an attachment anyway.
 */
function contentHeaders(upload: UploadRecord): Record<string, string> {
  // A record from before creation checked the type may hold anything: never a header break.
  const type = upload.sessionId !== null && isMediaType(upload.filetype)
    ? upload.filetype
    : "application/octet-stream";
  // toWellFormed: a name cut at 255 code units may end in half a surrogate pair, on which
  // encodeURIComponent throws.
  const name = upload.filename.toWellFormed().replace(/["\\\r\n]/g, "_");
  return {
    "Content-Type": type,
    "Content-Disposition": `attachment; filename="${
      name.replace(/[^\x20-\x7e]/g, "_")
    }"; filename*=UTF-8''${encodeURIComponent(name)}`,
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
  };
}

/** Streams a completed upload back to its session's token holders. */
export async function downloadUpload(c: Context, deps: TusDeps, id: string): Promise<Response> {
  const principal = await principalOf(c, deps);
  const whole = await deps.service.openDownload(principal, id);
  let range: ReturnType<typeof parseRange>;
  try {
    range = parseRange(c.req.header("Range"), whole.size);
  } catch (error) {
    // The file is open already: an unsatisfiable Range must not leave its handle behind.
    await whole.body.cancel();
    throw error;
  }
  const file = range
    ? (await whole.body.cancel(), await deps.service.openDownload(principal, id, range))
    : whole;
  const headers: Record<string, string> = {
    ...contentHeaders(whole.upload),
    "Content-Length": String(file.size),
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, no-store",
  };
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${whole.size}`;
  return c.body(file.body, range ? 206 : 200, headers);
}
