/**
 * Binds the internal Socket.IO server to its hop. The internal server listens on loopback,
 * where any local process can reach it and skip the public checks (origin, per-address
 * limits, the client address the hop vouches for). Every request must carry a random
 * per-process secret that only the hop knows; anything else is refused before engine.io
 * sees it.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** The header the hop proves itself with. */
export const HOP_SECRET_HEADER = "x-h5-hop-secret";

export function newHopSecret(): string {
  return randomBytes(32).toString("base64url");
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Puts the secret check in front of the listeners already attached to `server` (engine.io
 * attaches its own on construction). Call after `new Server(httpServer)`.
 */
export function guardInnerServer(server: Server, secret: string): void {
  const expected = Buffer.from(secret);
  const proven = (req: IncomingMessage): boolean => {
    const value = req.headers[HOP_SECRET_HEADER];
    // Removed once checked: handshake headers are visible to handlers and logs.
    delete req.headers[HOP_SECRET_HEADER];
    if (typeof value !== "string") return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const onRequest = server.listeners("request") as RequestListener[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!proven(req)) return refuse(res);
    for (const listener of onRequest) listener.call(server, req, res);
  });

  const onUpgrade = server.listeners("upgrade") as UpgradeListener[];
  server.removeAllListeners("upgrade");
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!proven(req)) {
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    for (const listener of onUpgrade) listener.call(server, req, socket, head);
  });
}

function refuse(res: ServerResponse): void {
  const body = JSON.stringify({
    error: { code: "INSUFFICIENT_PERMISSIONS", message: "Only the public port serves Socket.IO" },
  });
  res.writeHead(403, { "content-type": "application/json; charset=utf-8", connection: "close" });
  res.end(body);
}
