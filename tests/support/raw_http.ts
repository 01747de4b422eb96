/**
 * HTTP/1.1 by hand over `Deno.connect`, for what `fetch` will not send: duplicate headers,
 * odd framing. One request per connection (`Connection: close`), read to the end.
 */
import { within } from "./deadline.ts";

export interface RawAnswer {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` lines (request line first, no blank line) and `body`, returns the answer. */
export async function rawRequest(
  baseUrl: string,
  head: string[],
  body: Uint8Array = new Uint8Array(),
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const text = [...head, "Connection: close", "", ""].join("\r\n");
    const request = new Uint8Array([...new TextEncoder().encode(text), ...body]);
    await conn.write(request);
    const chunks: Uint8Array[] = [];
    const read = async () => {
      try {
        for await (const chunk of conn.readable) chunks.push(chunk);
      } catch (error) {
        // A server that answers before reading everything may reset after its answer.
        if (!(error instanceof Deno.errors.ConnectionReset) || chunks.length === 0) {
          throw new Error(`${head[0]}: ${error}`, { cause: error });
        }
      }
    };
    await within(read(), `the answer to ${head[0]}`);
    return parse(new TextDecoder().decode(concat(chunks)));
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed by the readable's end.
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function parse(text: string): RawAnswer {
  const end = text.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = text.slice(0, end === -1 ? text.length : end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  let body = end === -1 ? "" : text.slice(end + 4);
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") body = unchunk(body);
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

function unchunk(text: string): string {
  let out = "";
  let rest = text;
  while (rest.length > 0) {
    const eol = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) break;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
  return out;
}
