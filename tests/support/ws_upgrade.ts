/**
 * A WebSocket upgrade by hand over `Deno.connect`: WebSocket clients hide a refusal's status
 * and body, and cannot send `X-Forwarded-For`.
 */
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

export const SOCKET_IO_WS_PATH = "/socket.io/?EIO=4&transport=websocket";

export interface RawUpgrade {
  /** 101 when upgraded; else the refusal's status. */
  status: number;
  /** The answer's head (status line and headers) and whatever followed it in the same reads. */
  text: string;
  /** Still open (an upgraded socket holds its place): closed when the scope closes. */
  conn: Deno.Conn;
}

export async function rawUpgrade(
  scope: Scope,
  baseUrl: string,
  headers: string[] = [],
  path = SOCKET_IO_WS_PATH,
): Promise<RawUpgrade> {
  const { hostname, port } = new URL(baseUrl);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  scope.defer("close a raw upgrade", () => close(conn));
  return await upgradeOn(conn, baseUrl, headers, path);
}

/** The answer's head to an upgrade request; the connection is closed afterwards. */
export async function upgradeAnswer(
  baseUrl: string,
  headers: string[] = [],
  path = SOCKET_IO_WS_PATH,
): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    return (await upgradeOn(conn, baseUrl, headers, path)).text;
  } finally {
    close(conn);
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed by the server already.
  }
}

async function upgradeOn(
  conn: Deno.Conn,
  baseUrl: string,
  headers: string[],
  path: string,
): Promise<RawUpgrade> {
  const { host } = new URL(baseUrl);
  const request = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
    "",
    "",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(request));
  const read = async () => {
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  };
  const text = await within(read(), `the answer to an upgrade of ${path}`);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), text, conn };
}
