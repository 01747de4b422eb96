/**
 * `Deno.serve`, one connection at a time, so that the server sees connections at all.
 *
 * Deno 2.9's `Deno.serve` has no header-read timeout, no keep-alive timeout and no hook per
 * connection (its options are signal, onError, onListen, port, hostname, reusePort,
 * tcpBacklog): a client that sends half a request line holds a socket for ever (measured:
 * still open after 130 s), and one address may open any number of them. Node's `node:http`
 * has `headersTimeout`, but uploads through it ran 4x slower here. So we accept connections
 * from our own `Deno.listen` and hand each one to the same native HTTP engine `Deno.serve`
 * uses, through `serveHttpOnConnection` (what `Deno.serve` itself is built from; reached via
 * `Deno[Deno.internal]`, which is not a public API: when a Deno release drops it we fall back
 * to plain `Deno.serve` and say so once on stderr). Each connection gets its own AbortSignal,
 * which is how a stalled connection is closed.
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

interface ConnectionServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

type ServeOnConnection = (
  connection: Deno.Conn,
  signal: AbortSignal,
  handler: Handler,
  onError: (error: unknown) => Response,
  onListen: (addr: Deno.Addr) => void,
) => ConnectionServer;

function serveOnConnection(): ServeOnConnection | null {
  const key = (Deno as unknown as { internal?: symbol }).internal;
  const internal = key === undefined
    ? undefined
    : (Deno as unknown as Record<symbol, { serveHttpOnConnection?: unknown } | undefined>)[key];
  const fn = internal?.serveHttpOnConnection;
  return typeof fn === "function" ? fn as ServeOnConnection : null;
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
  const perConnection = serveOnConnection();
  if (perConnection === null) return plainServe(options, handler);

  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  const open = new Set<ConnectionServer>();
  const perKey = new Map<string, number>();
  let closing = false;

  const accept = (conn: Deno.Conn) => {
    const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
    const counted = !(options.unlimited?.(peer) ?? false);
    const key = clientKey(peer);
    if (counted) {
      const count = perKey.get(key) ?? 0;
      if (count >= options.maxConnectionsPerIp) return void refuse(conn);
      perKey.set(key, count + 1);
    }
    const stop = new AbortController();
    let inFlight = 0;
    let upgraded = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      timer = setTimeout(() => stop.abort(), options.idleTimeoutMs);
    };
    arm();
    const server = perConnection(
      conn,
      stop.signal,
      (request, info) => {
        clearTimeout(timer);
        inFlight++;
        // An upgraded socket is no longer HTTP; its own protocol decides when it is idle.
        if (request.headers.has("upgrade")) upgraded = true;
        info.completed.catch(() => {}).finally(() => {
          if (--inFlight === 0 && !upgraded && !closing) arm();
        });
        return handler(request, info);
      },
      onError,
      () => {},
    );
    open.add(server);
    server.finished.catch(() => {}).finally(() => {
      clearTimeout(timer);
      open.delete(server);
      if (counted) {
        const left = (perKey.get(key) ?? 1) - 1;
        if (left > 0) perKey.set(key, left);
        else perKey.delete(key);
      }
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
      closing = true;
      listener.close();
      await accepting;
      await Promise.all([...open].map((server) => server.shutdown()));
    },
  });
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
