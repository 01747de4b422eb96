/**
 * HTTP/1.1 by hand over `Deno.connect`, for what `fetch` will not send: duplicate headers,
 * a POST with neither Content-Length nor Transfer-Encoding, a chunked body with trailers.
 * One request per connection (`Connection: close`), read to the end; or a stalled request
 * that keeps its connection open.
 */
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

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

export interface StalledRequest {
  /** The server's answer; rejects if the connection closes before a status line. */
  answer: Promise<RawAnswer>;
  /** Closes the connection (idempotent). */
  close(): void;
}

/**
 * Sends `head` (request line and headers, without the blank line) and `body`, then waits,
 * connection open, for the answer. Closed when the scope closes.
 */
export async function stalledRequest(
  scope: Scope,
  baseUrl: string,
  head: string,
  body: Uint8Array,
): Promise<StalledRequest> {
  const { hostname, port } = new URL(baseUrl);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    try {
      conn.close();
    } catch {
      // Already closed by the peer.
    }
  };
  scope.defer("close a raw connection", close);
  const request = `${head}\r\nHost: ${hostname}:${port}\r\n\r\n`;
  await writeAll(conn, new TextEncoder().encode(request));
  await writeAll(conn, body);
  return { answer: readAnswer(conn), close };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) done += await conn.write(bytes.subarray(done));
}

/** Reads one response: status line, headers, and a Content-Length body (or up to close). */
async function readAnswer(conn: Deno.Conn): Promise<RawAnswer> {
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(16 * 1024);
  let headEnd = -1;
  let length: number | null = null;
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch {
      n = null;
    }
    if (n !== null) text += decoder.decode(buffer.subarray(0, n), { stream: true });
    if (headEnd < 0) headEnd = text.indexOf("\r\n\r\n");
    if (headEnd >= 0 && length === null) {
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, headEnd));
      length = match ? Number(match[1]) : Infinity;
    }
    const complete = headEnd >= 0 && length !== null && text.length - headEnd - 4 >= length;
    if (complete || n === null) break;
  }
  if (headEnd < 0) throw new Error(`The connection closed before a full answer: ${text}`);
  const [statusLine = "", ...lines] = text.slice(0, headEnd).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) throw new Error(`Not an HTTP status line: ${statusLine}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status, headers, body: text.slice(headEnd + 4) };
}
