/**
 * HTTP/1.1 by hand over `Deno.connect`, for what `fetch` will not send: duplicate headers,
 * a POST with neither Content-Length nor Transfer-Encoding, a chunked body with trailers.
 * One request per connection (`Connection: close`), read to the end.
 */
import { within } from "./deadline.ts";

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** Sends `head` lines (request line first, no blank line) and `body`, returns the answer. */
export async function rawRequest(
  baseUrl: string,
  head: string[],
  body: Uint8Array | string = new Uint8Array(),
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const encoder = new TextEncoder();
    await conn.write(encoder.encode([...head, "Connection: close", "", ""].join("\r\n")));
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    if (bytes.length > 0) await conn.write(bytes);
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

/** `rawRequest` with the head as one string and the Host header added. */
export function rawExchange(
  baseUrl: string,
  head: string,
  body: Uint8Array | string = "",
): Promise<RawAnswer> {
  return rawRequest(baseUrl, [...head.split("\r\n"), `Host: ${new URL(baseUrl).host}`], body);
}

/** A chunked body: each chunk framed, then the last chunk and the trailer fields. */
export function chunked(chunks: string[], trailers: Record<string, string> = {}): string {
  const framed = chunks.map((c) =>
    `${new TextEncoder().encode(c).length.toString(16)}\r\n${c}\r\n`
  );
  const fields = Object.entries(trailers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `${framed.join("")}0\r\n${fields}\r\n`;
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
  if (end < 0) throw new Error(`No complete HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = text.slice(end + 4);
  if (headers.get("transfer-encoding")?.toLowerCase() === "chunked") body = unchunk(body);
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]), headers, body };
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
