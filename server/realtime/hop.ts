/**
 * The public side of Socket.IO. Uploads need `Deno.serve` on the public port, while the
 * `socket.io` server needs a `node:http` server, so the public handler hops every
 * `/socket.io/` request to a loopback-only internal server: long-polling through `fetch`,
 * WebSockets through a pair of sockets piped frame by frame. Origin policy and CORS are
 * decided here, before anything reaches the internal server.
 */
import { AppError } from "../errors.ts";

export interface SocketHopOptions {
  internalPort: number;
  /** `self` is the origin the request was addressed to, which is always allowed. */
  isOriginAllowed(origin: string | null, self: string): boolean;
  /** Aborting it fails in-flight polls, closes piped sockets and the hop's HTTP client. */
  signal?: AbortSignal;
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

// Frames a client may send before the internal socket is open; engine.io sends one probe
// and waits, so anything beyond this is not a socket.io client.
const MAX_PENDING_FRAMES = 64;

export function createSocketHop(options: SocketHopOptions): SocketHop {
  const { internalPort, isOriginAllowed, signal } = options;
  // A private client so closing the hop also drops its keep-alive connections, which would
  // otherwise hold the internal `node:http` server open.
  const client = Deno.createHttpClient({});
  const pipes = new Set<WebSocketPipe>();
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
    const address = remoteAddress(info);
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const inner = `ws://127.0.0.1:${internalPort}${url.pathname}${url.search}`;
      const headers = forwardHeaders(req.headers, address, true);
      let pipe: WebSocketPipe;
      try {
        pipe = new WebSocketPipe(req, inner, headers, () => pipes.delete(pipe));
      } catch {
        // Not a valid upgrade request (e.g. no Sec-WebSocket-Key): nothing was opened.
        return errorResponse(new AppError("INVALID_REQUEST"), origin);
      }
      pipes.add(pipe);
      return pipe.response;
    }
    if (req.method === "OPTIONS") return preflight(req, origin);
    return await forwardPoll(req, url, address, origin, internalPort, client, signal);
  };
}

async function forwardPoll(
  req: Request,
  url: URL,
  address: string | null,
  origin: string | null,
  port: number,
  client: Deno.HttpClient,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
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
      headers: forwardHeaders(req.headers, address, false),
      body: hasBody ? req.body : null,
      signal: abort.signal,
      redirect: "manual",
      client,
    });
  } catch {
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

function forwardHeaders(source: Headers, address: string | null, websocket: boolean): Headers {
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

function unavailable(): AppError {
  return new AppError("INTERNAL_ERROR", "The realtime server is unavailable");
}

function remoteAddress(info: Deno.ServeHandlerInfo): string | null {
  const addr = info.remoteAddr;
  return addr.transport === "tcp" || addr.transport === "udp" ? addr.hostname : null;
}

type Frame = string | ArrayBuffer;

// deno.json also loads the "dom" lib, whose WebSocket constructor hides Deno's overload
// taking handshake headers.
const DenoWebSocket = WebSocket as unknown as new (
  url: string,
  options: { headers: HeadersInit },
) => WebSocket;

/**
 * One public WebSocket piped to one internal WebSocket. Frames are forwarded as they are
 * (engine.io packets); frames arriving before the other side is open are queued in order.
 */
class WebSocketPipe {
  readonly response: Response;
  readonly #outer: WebSocket;
  readonly #inner: WebSocket;
  readonly #toInner: Frame[] = [];
  readonly #toOuter: Frame[] = [];
  readonly #onDone: () => void;
  #done = false;
  #outerCloseWhenOpen: { code: number; reason: string } | null = null;

  constructor(req: Request, innerUrl: string, headers: Headers, onDone: () => void) {
    this.#onDone = onDone;
    const { socket, response } = Deno.upgradeWebSocket(req);
    this.response = response;
    this.#outer = socket;
    this.#inner = new DenoWebSocket(innerUrl, { headers });
    for (const ws of [this.#outer, this.#inner]) ws.binaryType = "arraybuffer";

    this.#outer.onopen = () => {
      this.#drain(this.#outer, this.#toOuter);
      const pending = this.#outerCloseWhenOpen;
      if (pending !== null) this.#closeOuter(pending.code, pending.reason);
    };
    this.#inner.onopen = () => this.#drain(this.#inner, this.#toInner);
    this.#outer.onmessage = (e) => this.#forward(this.#inner, this.#toInner, e.data);
    this.#inner.onmessage = (e) => this.#forward(this.#outer, this.#toOuter, e.data);
    this.#outer.onclose = (e) => this.#closeInner(e.code, e.reason);
    this.#inner.onclose = (e) => this.#closeOuter(e.code, e.reason);
    // An error is always followed by a close event, which carries it to the other side.
    this.#outer.onerror = () => {};
    this.#inner.onerror = () => {};
  }

  close(code: number, reason: string): void {
    this.#closeOuter(code, reason);
    this.#closeInner(code, reason);
  }

  #forward(to: WebSocket, queue: Frame[], data: unknown): void {
    if (typeof data !== "string" && !(data instanceof ArrayBuffer)) return;
    if (to.readyState === WebSocket.OPEN) {
      to.send(data);
    } else if (to.readyState === WebSocket.CONNECTING) {
      if (queue.length >= MAX_PENDING_FRAMES) return this.close(1008, "too many early frames");
      queue.push(data);
    }
  }

  #drain(ws: WebSocket, queue: Frame[]): void {
    for (const frame of queue.splice(0)) ws.send(frame);
  }

  #closeInner(code: number, reason: string): void {
    this.#finish();
    const ws = this.#inner;
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
    // A client socket may only send 1000 or 3000-4999 (WHATWG); engine.io ignores the code.
    if (code === 1000 || (code >= 3000 && code <= 4999)) ws.close(code, truncate(reason));
    else ws.close(1000, truncate(reason));
  }

  #closeOuter(code: number, reason: string): void {
    this.#finish();
    const ws = this.#outer;
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
    if (ws.readyState === WebSocket.CONNECTING) {
      // The upgrade response is not sent yet: deliver what the inner side sent, then close.
      this.#outerCloseWhenOpen = { code, reason };
      return;
    }
    if (code === 1005) ws.close();
    // 1006/1015 are never sent on the wire; an abnormal inner end is an internal error here.
    else if (code === 1006 || code === 1015 || !isSendable(code)) ws.close(1011, "upstream closed");
    else ws.close(code, truncate(reason));
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onDone();
  }
}

function isSendable(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** Close reasons are limited to 123 UTF-8 bytes. */
function truncate(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  return new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, "");
}
