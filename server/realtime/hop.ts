/**
 * The public side of Socket.IO. Uploads need `Deno.serve` on the public port, while the
 * `socket.io` server needs a `node:http` server, so the public handler hops every
 * `/socket.io/` request to a loopback-only internal server: long-polling through `fetch`;
 * WebSockets are handed to that server's engine.io in process (`engineUpgrade`,
 * engine_attach.ts), or without it piped frame by frame to a second, loopback WebSocket
 * (ws_pipe.ts). Origin policy and CORS are decided here, before anything reaches Socket.IO.
 */
import { AppError } from "../errors.ts";
import { type ClientKeyOf, peerAddress } from "./client_address.ts";
import { HOP_SECRET_HEADER } from "./inner_guard.ts";
import { capBody } from "./body_cap.ts";
import { DEFAULT_SOCKET_LIMITS, type SocketLimits } from "./socket_limits.ts";
import { WebSocketPipe } from "./ws_pipe.ts";
import type { EngineUpgrade } from "./engine_attach.ts";

export interface SocketHopOptions {
  internalPort: number;
  /** Proves the hop to the internal server (inner_guard.ts). */
  secret: string;
  limits?: SocketLimits;
  /** The address per-address limits count under; default the TCP peer. */
  clientKey?: ClientKeyOf;
  /** `self` is the origin the request was addressed to, which is always allowed. */
  isOriginAllowed(origin: string | null, self: string): boolean;
  /** Aborting it fails in-flight polls, closes piped sockets and the hop's HTTP client. */
  signal?: AbortSignal;
  /**
   * Hands public WebSockets to the in-process engine.io server (engine_attach.ts) instead
   * of piping each to the internal server over a second, loopback WebSocket.
   */
  engineUpgrade?: EngineUpgrade;
}

export type SocketHop = (req: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;

/** The header the internal server reads the client address from (see `clientAddress`). */
export const FORWARDED_FOR = "x-forwarded-for";

// RFC 9110 §7.6.1, plus `host` (the internal URL decides it) and the proxy headers a
// client could use to pose as someone else.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

export function createSocketHop(options: SocketHopOptions): SocketHop {
  const { internalPort, isOriginAllowed, signal, secret } = options;
  const limits = options.limits ?? DEFAULT_SOCKET_LIMITS;
  const clientKey = options.clientKey ?? peerAddress;
  const socketsPer = new Map<string, number>();
  // A private client so closing the hop also drops its keep-alive connections, which would
  // otherwise hold the internal `node:http` server open.
  const client = Deno.createHttpClient({});
  const pipes = new Set<{ close(code: number, reason: string): void }>();
  let closed = false;
  const shutdown = () => {
    closed = true;
    for (const pipe of pipes) pipe.close(1001, "server shutting down");
    client.close();
  };
  if (signal?.aborted) shutdown();
  else signal?.addEventListener("abort", shutdown, { once: true });

  return async (req, info) => {
    const origin = req.headers.get("origin");
    if (!isOriginAllowed(origin, new URL(req.url).origin)) {
      return errorResponse(new AppError("ORIGIN_NOT_ALLOWED"), origin, false);
    }
    if (closed) return errorResponse(unavailable(), origin, true, 503);

    const url = new URL(req.url);
    const address = clientKey(req, info);
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      // Counted from the upgrade to the close: each open socket may make the runtime hold
      // one whole message (see ws_pipe.ts), so their number per address is what is bounded.
      const key = address ?? "";
      const open = socketsPer.get(key) ?? 0;
      if (open >= limits.maxSocketsPerAddress) {
        return errorResponse(
          new AppError("RATE_LIMIT_EXCEEDED", "Too many open sockets from this address"),
          origin,
        );
      }
      const headers = forwardHeaders(req.headers, address, true, secret);
      let pipe: { response: Response; close(code: number, reason: string): void };
      const onDone = () => {
        pipes.delete(pipe);
        const left = (socketsPer.get(key) ?? 1) - 1;
        if (left > 0) socketsPer.set(key, left);
        else socketsPer.delete(key);
      };
      if (options.engineUpgrade) {
        // In process: the secret proves nothing here and must not reach handlers.
        headers.delete(HOP_SECRET_HEADER);
        const upgraded = options.engineUpgrade(req, headers, limits, onDone);
        if (upgraded instanceof AppError) return errorResponse(upgraded, origin);
        pipe = upgraded;
      } else {
        const inner = `ws://127.0.0.1:${internalPort}${url.pathname}${url.search}`;
        try {
          pipe = new WebSocketPipe(req, inner, headers, limits, onDone);
        } catch {
          // Not a valid upgrade request (e.g. no Sec-WebSocket-Key): nothing was opened.
          return errorResponse(new AppError("INVALID_REQUEST"), origin);
        }
      }
      socketsPer.set(key, open + 1);
      pipes.add(pipe);
      return pipe.response;
    }
    if (req.method === "OPTIONS") return preflight(req, origin);
    const declared = Number(req.headers.get("content-length") ?? 0);
    if (declared > limits.maxMessageBytes) {
      return errorResponse(tooLarge(limits.maxMessageBytes), origin);
    }
    return await forwardPoll(req, url, address, origin, {
      port: internalPort,
      secret,
      maxBodyBytes: limits.maxMessageBytes,
      client,
      signal,
    });
  };
}

interface PollTarget {
  port: number;
  secret: string;
  maxBodyBytes: number;
  client: Deno.HttpClient;
  signal: AbortSignal | undefined;
}

async function forwardPoll(
  req: Request,
  url: URL,
  address: string | null,
  origin: string | null,
  target: PollTarget,
): Promise<Response> {
  const { port, client, signal } = target;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  // Counted while it streams, whatever the framing (chunked bodies declare no length).
  const body = hasBody && req.body ? capBody(req.body, target.maxBodyBytes) : null;
  // A long-poll GET is held for up to pingInterval: a client leaving meanwhile must end it,
  // or its next poll would overlap this one and engine.io would drop the session. Listened
  // to only until the answer starts: afterwards Deno.serve cancels the body stream itself,
  // and (legacy behaviour) req.signal also fires after every successful response.
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  req.signal.addEventListener("abort", onAbort, { once: true });
  signal?.addEventListener("abort", onAbort, { once: true });
  let upstream: Response;
  try {
    upstream = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, {
      method: req.method,
      headers: forwardHeaders(req.headers, address, false, target.secret),
      body: body?.stream ?? null,
      signal: abort.signal,
      redirect: "manual",
      client,
    });
  } catch {
    if (body?.exceeded()) return errorResponse(tooLarge(target.maxBodyBytes), origin);
    // The client went away, or the internal server closed the poll while shutting down.
    return errorResponse(unavailable(), origin, true, 502);
  } finally {
    req.signal.removeEventListener("abort", onAbort);
    signal?.removeEventListener("abort", onAbort);
  }
  const headers = new Headers();
  for (const [name, value] of upstream.headers) {
    if (!HOP_BY_HOP.has(name) && !name.startsWith("access-control-")) headers.append(name, value);
  }
  corsHeaders(headers, origin);
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers,
  });
}

function forwardHeaders(
  source: Headers,
  address: string | null,
  websocket: boolean,
  secret: string,
): Headers {
  const drop = new Set(HOP_BY_HOP);
  for (const token of (source.get("connection") ?? "").split(",")) {
    drop.add(token.trim().toLowerCase());
  }
  const headers = new Headers();
  for (const [name, value] of source) {
    if (drop.has(name)) continue;
    // The inner handshake negotiates its own key, version and extensions.
    if (websocket && name.startsWith("sec-websocket-")) continue;
    // Compression is off inside (loopback); an encoded body would be decoded by fetch anyway.
    if (name === "accept-encoding") continue;
    headers.append(name, value);
  }
  // Replaces whatever the client sent: the inner server trusts this header only because
  // nothing but this hop can reach it.
  if (address !== null) headers.set(FORWARDED_FOR, address);
  headers.set(HOP_SECRET_HEADER, secret);
  return headers;
}

function preflight(req: Request, origin: string | null): Response {
  const headers = new Headers({
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-max-age": "600",
  });
  const requested = req.headers.get("access-control-request-headers");
  if (requested !== null) headers.set("access-control-allow-headers", requested);
  corsHeaders(headers, origin);
  headers.append("vary", "Access-Control-Request-Headers");
  return new Response(null, { status: 204, headers });
}

function corsHeaders(headers: Headers, origin: string | null): void {
  headers.append("vary", "Origin");
  if (origin === null) return;
  headers.set("access-control-allow-origin", origin);
  headers.set("access-control-allow-credentials", "true");
}

function errorResponse(
  error: AppError,
  origin: string | null,
  cors = true,
  status = error.status,
): Response {
  const headers = new Headers({ "content-type": "application/json; charset=utf-8" });
  // A refused origin gets no CORS headers: the browser must not let that page read them.
  if (cors) corsHeaders(headers, origin);
  else headers.append("vary", "Origin");
  return new Response(JSON.stringify({ error: error.toPayload() }), { status, headers });
}

function tooLarge(max: number): AppError {
  return new AppError("MESSAGE_TOO_LARGE", `A socket message may be at most ${max} bytes`);
}

function unavailable(): AppError {
  return new AppError("INTERNAL_ERROR", "The realtime server is unavailable");
}
