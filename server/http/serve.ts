/**
 * Deno's native HTTP server, one connection at a time, so that the server sees connections.
 *
 * Deno 2.9's `Deno.serve` has no header-read timeout, no keep-alive timeout and no hook per
 * connection (its options are signal, onError, onListen, port, hostname, reusePort,
 * tcpBacklog): a client that sends half a request line holds a socket for ever (measured:
 * still open after 130 s), and one address may open any number of them. `node:http` has
 * `headersTimeout`, but uploads through it ran 4x slower here. `serveHttpOnConnection` (what
 * `Deno.serve` is built from) serves one connection but closes it, WebSockets included, as
 * soon as a request upgrades (measured: close 1005 right after the 101). So connections come
 * from our own `Deno.listen` and each goes to `Deno.serveHttp`: the same hyper engine per
 * connection, WebSocket upgrades work, and we hold its handle to close it. Measured with curl
 * on loopback, 1 GiB PATCHes to the whole server, 24 pairs against the Deno.serve version
 * (dfb9543): median wall-time ratio 1.01-1.03, server CPU per GiB 0.97-0.98, i.e. no
 * measurable cost. `Deno.serveHttp` is deprecated and absent from
 * Deno 2's type declarations; when a release drops it we fall back to `Deno.serve` and say
 * once on stderr that the header timeout and the connection cap are off.
 */
import { clientKey } from "./ip.ts";

export type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) =>
  | Response
  | Promise<Response>;

export interface EdgeServeOptions {
  hostname: string;
  port: number;
  /** A connection with no request in progress is closed after this long (header-read timeout). */
  idleTimeoutMs: number;
  /** Open connections per client key (IPv6 by /64); proxies in `unlimited` are not counted. */
  maxConnectionsPerIp: number;
  unlimited?: (peer: string) => boolean;
  onListen?: (addr: Deno.NetAddr) => void;
}

export interface EdgeServer {
  addr: Deno.NetAddr;
  /** True when the connection limits are in force (false on the plain Deno.serve fallback). */
  limited: boolean;
  shutdown(): Promise<void>;
}

interface RequestEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): Promise<void>;
}

interface HttpConn extends AsyncIterable<RequestEvent> {
  close(): void;
}

type ServeHttp = (conn: Deno.Conn) => HttpConn;

function legacyServeHttp(): ServeHttp | null {
  const fn = (Deno as unknown as { serveHttp?: unknown }).serveHttp;
  return typeof fn === "function" ? fn as ServeHttp : null;
}

function onError(error: unknown): Response {
  console.error("Request failed outside the app:", error);
  return new Response("Internal Server Error", { status: 500 });
}

const REFUSAL = JSON.stringify({
  error: { code: "RATE_LIMIT_EXCEEDED", message: "Too many open connections from this address" },
});
const REFUSAL_BYTES = new TextEncoder().encode(
  "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\n" +
    `Retry-After: 5\r\nConnection: close\r\nContent-Length: ${REFUSAL.length}\r\n\r\n${REFUSAL}`,
);

/** Answers 429 on a connection over its address's cap and closes it, without reading it. */
async function refuse(conn: Deno.Conn): Promise<void> {
  try {
    // A few hundred bytes into an empty socket buffer: never blocks on a client not reading.
    await conn.write(REFUSAL_BYTES);
  } catch {
    // The client is gone already.
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

export function edgeServe(options: EdgeServeOptions, handler: Handler): Promise<EdgeServer> {
  const serveHttp = legacyServeHttp();
  if (serveHttp === null) return plainServe(options, handler);

  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  const open = new Set<Promise<void>>();
  const idle = new Set<HttpConn>();
  const perKey = new Map<string, number>();
  let closing = false;

  const serveConnection = async (conn: Deno.Conn, http: HttpConn) => {
    const remoteAddr = conn.remoteAddr as Deno.NetAddr;
    let inFlight = 0;
    let upgraded = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const close = () => {
      try {
        http.close();
      } catch {
        // closed already
      }
    };
    // Between requests (before the first one's headers are complete, or kept alive after an
    // answer) a connection may only wait so long.
    const rest = () => {
      if (closing) return close();
      idle.add(http);
      timer = setTimeout(close, options.idleTimeoutMs);
    };
    rest();
    try {
      for await (const event of http) {
        clearTimeout(timer);
        idle.delete(http);
        inFlight++;
        // An upgraded socket is no longer HTTP; its own protocol decides when it is idle.
        if (event.request.headers.has("upgrade")) upgraded = true;
        const completed = respond(event, remoteAddr, handler);
        completed.catch(() => {}).finally(() => {
          if (--inFlight === 0 && !upgraded) rest();
        });
      }
    } catch {
      // A broken connection (reset, bad framing): hyper has answered what it could.
    } finally {
      clearTimeout(timer);
      idle.delete(http);
    }
  };

  const accept = (conn: Deno.Conn) => {
    const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
    const counted = !(options.unlimited?.(peer) ?? false);
    const key = clientKey(peer);
    if (counted) {
      const count = perKey.get(key) ?? 0;
      if (count >= options.maxConnectionsPerIp) return void refuse(conn);
      perKey.set(key, count + 1);
    }
    const release = () => {
      if (!counted) return;
      const left = (perKey.get(key) ?? 1) - 1;
      if (left > 0) perKey.set(key, left);
      else perKey.delete(key);
    };
    let served: Promise<void>;
    try {
      // As Deno.serve does: without it Nagle's algorithm held small WebSocket frames ~40 ms
      // (measured), and a socket's ack then arrived after later room events.
      (conn as Deno.TcpConn).setNoDelay(true);
      served = serveConnection(conn, serveHttp(conn));
    } catch (error) {
      // Not expected for a connection just accepted; it must not stop the accept loop.
      console.error("Cannot serve a connection:", error);
      release();
      try {
        conn.close();
      } catch {
        // closed
      }
      return;
    }
    open.add(served);
    served.finally(() => {
      open.delete(served);
      release();
    });
  };

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource) return;
        // EMFILE and friends: keep accepting once descriptors free up.
        console.error("Accept failed:", error);
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      accept(conn);
    }
  })();

  options.onListen?.(addr);
  return Promise.resolve({
    addr,
    limited: true,
    async shutdown() {
      // Graceful, as Deno.serve's: no new connections, idle ones closed now, busy ones once
      // their requests are answered (the app stops its uploads before this).
      closing = true;
      listener.close();
      await accepting;
      for (const http of idle) {
        try {
          http.close();
        } catch {
          // closed
        }
      }
      await Promise.all(open);
    },
  });
}

/** Runs the handler for one request; settles once the response is sent (or failed). */
async function respond(
  event: RequestEvent,
  remoteAddr: Deno.NetAddr,
  handler: Handler,
): Promise<void> {
  const sent = Promise.withResolvers<void>();
  const info: Deno.ServeHandlerInfo<Deno.NetAddr> = { remoteAddr, completed: sent.promise };
  sent.promise.catch(() => {});
  let response: Response;
  try {
    response = await handler(event.request, info);
  } catch (error) {
    response = onError(error);
  }
  try {
    await event.respondWith(response);
    sent.resolve();
  } catch (error) {
    // The client went away before the answer was out.
    sent.reject(error);
  }
}

let warned = false;

async function plainServe(options: EdgeServeOptions, handler: Handler): Promise<EdgeServer> {
  if (!warned) {
    warned = true;
    console.error(
      "Warning: this Deno has no per-connection serve; the header timeout and " +
        "H5_MAX_CONNECTIONS_PER_IP are not enforced",
    );
  }
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, handler);
  const addr = await listening.promise;
  options.onListen?.(addr);
  return { addr, limited: false, shutdown: () => server.shutdown() };
}
