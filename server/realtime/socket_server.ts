import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type ServerOptions } from "socket.io";
import type { ClientToServerEvents, ServerToClientEvents } from "../../protocol/events.ts";
import type { RoomEventSource, SessionCommands } from "../upload/commands.ts";
import { bridgeRoomEvents, type PeerProgress } from "./bridge.ts";
import type { ThrottleGate } from "./throttle_gate.ts";
import type { SeedProgress } from "./progress_rooms.ts";
import type { ProgressDeltaSource } from "../upload/progress_delta.ts";
import { type RealtimeServer, registerHandlers } from "./handlers.ts";
import { createSocketHop } from "./hop.ts";
import { DEFAULT_RATE_LIMIT, type RateLimit } from "../http/rate_limit.ts";
import type { ClientKeyOf } from "./client_address.ts";
import { guardInnerServer, newHopSecret } from "./inner_guard.ts";
import { type EngineInternals, engineUpgrade } from "./engine_attach.ts";
import { DEFAULT_SOCKET_LIMITS, type SocketLimits } from "./socket_limits.ts";

export interface RealtimeOptions {
  commands: SessionCommands;
  /** Room events, and per-file progress deltas when the source has them (the EventBus). */
  events: RoomEventSource & Partial<ProgressDeltaSource>;
  /** Reads a session once when its progress room is first needed on this node. */
  seedProgress?: SeedProgress;
  /** Other nodes' progress deltas (several nodes): applied to this node's rooms, not sent. */
  peerProgress?: PeerProgress;
  /** The progress throttle every node shares (several nodes); absent: this node's own. */
  throttleGate?: ThrottleGate;
  /** `self` is the origin the request was addressed to, which is always allowed. */
  isOriginAllowed(origin: string | null, self: string): boolean;
  now?: () => number;
  /** Per-socket events, and per-address handshakes. Default 30 per 1000 ms. */
  rateLimit?: RateLimit;
  /** Message size, unsent bytes and sockets per address (tests lower them). */
  limits?: Partial<SocketLimits>;
  /** The address per-address limits count under; default the TCP peer. */
  clientKey?: ClientKeyOf;
  /**
   * Socket.IO's adapter, e.g. `createAdapter(pub, sub)` of `@socket.io/redis-adapter`, so
   * that a room emit reaches the room's sockets on every node. Default: in-process rooms.
   * The caller owns (and closes, after close()) the adapter's Redis clients.
   */
  adapter?: ServerOptions["adapter"];
}

export interface Realtime {
  /** The public `Deno.serve` handler for everything under `/socket.io/`. */
  handle(req: Request, info: Deno.ServeHandlerInfo): Promise<Response>;
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  /** The loopback port of the internal server (tests prove it refuses everyone but the hop). */
  internalPort: number;
  close(): Promise<void>;
}

/** How long close() waits for the farewell status to reach the transports. */
const FAREWELL_FLUSH_MS = 1000;

/**
 * Starts Socket.IO on an internal loopback `node:http` server and returns the handler
 * that the public `Deno.serve` hands `/socket.io/` requests to (see hop.ts for why).
 */
export async function startRealtime(options: RealtimeOptions): Promise<Realtime> {
  const now = options.now ?? Date.now;
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  const limits = { ...DEFAULT_SOCKET_LIMITS, ...options.limits };
  const secret = newHopSecret();
  const httpServer = createServer();
  const io: RealtimeServer = new Server(httpServer, {
    path: "/socket.io/",
    serveClient: false,
    // The same cap as the hop's, which refuses bigger messages before they get here.
    maxHttpBufferSize: limits.maxMessageBytes,
    // Loopback hop: compressing here only costs CPU; the public side may compress.
    httpCompression: false,
    perMessageDeflate: false,
    ...(options.adapter ? { adapter: options.adapter } : {}),
    // No `cors` option on purpose: the hop answers preflights and sets the CORS headers
    // from the same isOriginAllowed, and strips any the internal server would add.
  });
  guardInnerServer(httpServer, secret);
  registerHandlers(io, { commands: options.commands, now, rateLimit });
  const unsubscribe = bridgeRoomEvents(io, options.events, {
    now,
    ...(options.seedProgress ? { seed: options.seedProgress } : {}),
    ...(options.peerProgress ? { peerProgress: options.peerProgress } : {}),
    ...(options.throttleGate ? { throttleGate: options.throttleGate } : {}),
  });

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(0, "127.0.0.1", () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    unsubscribe();
    await io.close();
    throw error;
  }
  const internalPort = (httpServer.address() as AddressInfo).port;
  const shutdown = new AbortController();
  const handle = createSocketHop({
    internalPort,
    secret,
    limits,
    clientKey: options.clientKey,
    isOriginAllowed: options.isOriginAllowed,
    signal: shutdown.signal,
    engineUpgrade: engineUpgrade(io.engine as unknown as EngineInternals),
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      unsubscribe();
      await farewell(io);
      // Closes every engine.io socket (polls answered, inner WebSockets closed, which the
      // hop carries out) and then the internal server.
      await io.close();
      shutdown.abort();
    })();
    return closing;
  };

  return { handle, io, internalPort, close };
}

/**
 * Tells every socket the server is going away, and waits (bounded) until the packet left
 * engine.io's buffer: io.close() discards unsent packets. No DISCONNECT packet is sent, so
 * clients treat it as a transport loss and reconnect when the server is back.
 */
async function farewell(io: RealtimeServer): Promise<void> {
  const flushed: Promise<void>[] = [];
  for (const socket of io.of("/").sockets.values()) {
    // Listening before emitting: on a writable transport the flush happens inside emit().
    flushed.push(
      new Promise((resolve) => socket.conn.once("drain", () => delivered(socket, resolve))),
    );
    socket.emit("connection-status", {
      status: "disconnected",
      message: "The server is shutting down",
    });
  }
  if (flushed.length === 0) return;
  await bounded(Promise.all(flushed), FAREWELL_FLUSH_MS);
}

/**
 * Long-polling: "drain" means the answer was handed to the internal server, which io.close()
 * may then cut before the hop relayed it; the client's next poll ("ready") proves it read
 * the farewell. A WebSocket's send is queued ahead of its close frame: drained is delivered.
 */
function delivered(socket: { conn: { transport: unknown } }, resolve: () => void): void {
  const transport = socket.conn.transport as {
    name: string;
    once(event: "ready", listener: () => void): void;
  };
  if (transport.name === "polling") transport.once("ready", resolve);
  else resolve();
}

async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}
