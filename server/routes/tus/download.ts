import type { Context } from "hono";
import { AppError } from "../../errors.ts";
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

/** Streams a completed upload back to its session's token holders. */
export async function downloadUpload(c: Context, deps: TusDeps, id: string): Promise<Response> {
  const principal = await principalOf(c, deps);
  const whole = await deps.service.openDownload(principal, id);
  const range = parseRange(c.req.header("Range"), whole.size);
  const file = range
    ? (await whole.body.cancel(), await deps.service.openDownload(principal, id, range))
    : whole;
  const name = whole.upload.filename.replace(/["\\\r\n]/g, "_");
  const headers: Record<string, string> = {
    "Content-Type": whole.upload.filetype || "application/octet-stream",
    "Content-Length": String(file.size),
    "Content-Disposition": `attachment; filename="${
      name.replace(/[^\x20-\x7e]/g, "_")
    }"; filename*=UTF-8''${encodeURIComponent(name)}`,
    "X-Content-Type-Options": "nosniff",
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, no-store",
  };
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${whole.size}`;
  return c.body(file.body, range ? 206 : 200, headers);
}
