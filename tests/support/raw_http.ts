/**
 * One HTTP/1.1 exchange over a raw TCP socket, for framings `fetch` cannot produce: a POST
 * with neither Content-Length nor Transfer-Encoding, a chunked body with trailers.
 */
import { within } from "./deadline.ts";

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** Sends `head` (request line and headers, no final blank line) and `body` bytes as given. */
export async function rawExchange(
  baseUrl: string,
  head: string,
  body: Uint8Array | string = "",
): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  try {
    const encoder = new TextEncoder();
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    // "Connection: close" frames the answer by the end of the stream: read to EOF.
    await conn.write(encoder.encode(`${head}\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`));
    if (bytes.length > 0) await conn.write(bytes);
    const text = await within(new Response(conn.readable).text(), "a raw HTTP answer");
    return parseAnswer(text);
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed by reading to the end.
    }
  }
}

function parseAnswer(text: string): RawAnswer {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`No complete HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status, headers, body: text.slice(end + 4) };
}

/** A chunked body: each chunk framed, then the last chunk and the trailer fields. */
export function chunked(chunks: string[], trailers: Record<string, string> = {}): string {
  const framed = chunks.map((c) =>
    `${new TextEncoder().encode(c).length.toString(16)}\r\n${c}\r\n`
  );
  const fields = Object.entries(trailers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `${framed.join("")}0\r\n${fields}\r\n`;
}
