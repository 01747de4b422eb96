/**
 * HTTP/1.1 over a raw TCP socket, for what fetch cannot do: send headers and part of a body,
 * then keep the connection open (a stalled client), and read whatever the server answers.
 */
import type { Scope } from "./scope.ts";

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
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
