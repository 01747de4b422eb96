import type { DefaultEventsMap, Server, Socket } from "socket.io";
import * as v from "valibot";
import type {
  Ack,
  ClientToServerEvents,
  ClientType,
  ServerToClientEvents,
} from "../../protocol/events.ts";
import type { ErrorPayload } from "../../protocol/errors.ts";
import { AppError } from "../errors.ts";
import { answerFor } from "../outage.ts";
import type { SessionCommands } from "../upload/commands.ts";
import { FORWARDED_FOR } from "./hop.ts";
import { KeyedRateLimiter, type RateLimit, TokenBucket } from "../http/rate_limit.ts";
import * as schemas from "./schemas.ts";
import { CLOSE } from "./socket_limits.ts";

export interface SocketData {
  /** The session proven at the handshake. */
  sessionId: string;
  clientType: ClientType;
  /** The client's address as seen by the public server (for rate limiting and logs). */
  clientAddress: string;
  /** Sessions whose token this socket has proven; commands are accepted for these only. */
  authorized: Set<string>;
  bucket: TokenBucket;
  /** Addition: the reconnection attempts that brought the client back (0: a first connect). */
  reconnectAttempts: number;
}

export type RealtimeServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  DefaultEventsMap,
  SocketData
>;
type RealtimeSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  DefaultEventsMap,
  SocketData
>;

export interface HandlerOptions {
  commands: SessionCommands;
  now: () => number;
  rateLimit: RateLimit;
}

export function roomOf(sessionId: string): string {
  return `session:${sessionId}`;
}

/** Installs the handshake check and the command handlers of the spec's client events. */
export function registerHandlers(io: RealtimeServer, options: HandlerOptions): void {
  const { commands, now, rateLimit } = options;
  // Handshakes are limited per client address, not per socket: a refused socket is gone,
  // and guessing tokens means opening many of them.
  const handshakes = new KeyedRateLimiter(rateLimit, now);

  io.use(async (socket, next) => {
    try {
      const clientAddress = clientAddressOf(socket.handshake.address, socket.handshake.headers);
      if (!handshakes.take(clientAddress)) throw new AppError("RATE_LIMIT_EXCEEDED");
      const token = tokenOf(socket.handshake.auth);
      const { sessionId, clientType } = parseHandshakeQuery(socket.handshake.query);
      const reconnectAttempts = schemas.reconnectAttemptsOf(
        socket.handshake.auth,
        socket.handshake.query,
      );
      await commands.authorize(token, sessionId);
      socket.data = {
        sessionId,
        clientType,
        clientAddress,
        authorized: new Set([sessionId]),
        bucket: new TokenBucket(rateLimit, now),
        reconnectAttempts,
      };
      next();
    } catch (error) {
      next(connectError(error));
    }
  });

  io.on("connection", (socket) => {
    const { sessionId, reconnectAttempts } = socket.data;
    // A client that comes back hears the spec's `reconnecting` (with the spec's retryCount)
    // while its room is restored, then `connected`: the state machine of 重连机制, told by the
    // server, so every client shows the same thing however its library names its events.
    const retry = reconnectAttempts > 0 ? { retryCount: reconnectAttempts } : {};
    if (reconnectAttempts > 0) {
      socket.emit("connection-status", {
        status: "reconnecting",
        message: `Restoring session ${sessionId} after ${reconnectAttempts} attempt(s)`,
        reconnectAttempts,
        ...retry,
      });
    }
    socket.join(roomOf(sessionId));
    socket.emit("connection-status", {
      status: "connected",
      message: `Watching session ${sessionId}`,
      reconnectAttempts,
      ...retry,
    });

    // Counts every incoming event, known or not, before any handler or validation runs.
    // Refusals are answered up to a bucket's worth per refill time, so a client learns it is
    // too fast; past that the socket is closed rather than read on: answering each event of a
    // flood turns it into outgoing buffers (3,000 events of 60 KB once added 300 MB). Not
    // "in a row": a flood read at ~500 events/s gets a refilled token every few dozen
    // events, which reset that count for as long as the flood lasted (measured once the
    // hop's loopback buffer, which used to end such a flood first, was gone).
    let refused = 0;
    let windowStart = 0;
    socket.use((packet, next) => {
      if (refused > rateLimit.events) return;
      if (socket.data.bucket.take()) return next();
      const at = now();
      if (refused === 0 || at - windowStart >= rateLimit.perMs) {
        windowStart = at;
        refused = 0;
      }
      refused += 1;
      if (refused > rateLimit.events) return closeForRate(socket);
      const [event, ...args] = packet;
      fail(socket, String(event), ackOf(args), new AppError("RATE_LIMIT_EXCEEDED"), now);
    });

    const requireAuthorized = (sessionId: string) => {
      if (!socket.data.authorized.has(sessionId)) throw new AppError("INSUFFICIENT_PERMISSIONS");
    };

    const on = (
      event: keyof ClientToServerEvents,
      run: (payload: unknown) => Promise<unknown> | unknown,
    ) => handle(socket, event, run, now);

    on("join-session", async (payload) => {
      const input = schemas.parse(schemas.JoinSession, payload);
      const { sessionId, token } = typeof input === "string"
        ? { sessionId: input, token: undefined }
        : input;
      if (!socket.data.authorized.has(sessionId)) {
        if (token === undefined) throw new AppError("INSUFFICIENT_PERMISSIONS");
        await commands.authorize(token, sessionId);
        if (!socket.connected) throw new AppError("CONNECTION_TIMEOUT");
        socket.data.authorized.add(sessionId);
      }
      // Joined before the snapshot is read, so no event between the two is missed.
      await socket.join(roomOf(sessionId));
      return await commands.snapshot(sessionId);
    });

    on("leave-session", async (payload) => {
      const input = schemas.parse(schemas.LeaveSession, payload);
      const sessionId = typeof input === "string" ? input : input.sessionId;
      // Authorization stays: leaving stops the room's events, it does not forget the token.
      await socket.leave(roomOf(sessionId));
      return { sessionId };
    });

    on("upload-start", (payload) => {
      const command = schemas.parse(schemas.UploadStart, payload);
      requireAuthorized(command.sessionId);
      return commands.start(command);
    });

    on("upload-progress", async (payload) => {
      const request = schemas.parse(schemas.UploadProgress, payload);
      requireAuthorized(request.sessionId);
      // Progress is the server's (the tus offset): a client-reported `progress` is not
      // written anywhere, every answer is the server's snapshot.
      const snapshot = await commands.snapshot(request.sessionId);
      if (request.requestUpdate === true) socket.emit("upload-progress", snapshot);
      return snapshot;
    });

    on("upload-pause", (payload) => {
      const command = schemas.parse(schemas.UploadPause, payload);
      requireAuthorized(command.sessionId);
      return commands.pause(command);
    });

    on("upload-resume", (payload) => {
      const command = schemas.parse(schemas.UploadResume, payload);
      requireAuthorized(command.sessionId);
      return commands.resume(command);
    });

    on("upload-cancel", (payload) => {
      const command = schemas.parse(schemas.UploadCancel, payload);
      requireAuthorized(command.sessionId);
      return commands.cancel(command);
    });
  });
}

/**
 * Ends a socket that kept sending past its rate. On WebSocket the close carries 1008 (the
 * hop passes it to the public socket); long-polling has no close code, only the disconnect.
 */
function closeForRate(socket: RealtimeSocket): void {
  const transport = socket.conn.transport as unknown as {
    name: string;
    socket?: { close(code: number, reason: string): void };
  };
  if (transport.name === "websocket" && transport.socket) {
    transport.socket.close(CLOSE.RATE.code, CLOSE.RATE.reason);
  } else {
    socket.disconnect(true);
  }
}

/**
 * The address the public server saw. `X-Forwarded-For` is trusted only from loopback: the
 * internal server listens on 127.0.0.1 and answers only requests that carry the hop's
 * secret (inner_guard.ts), and the hop overwrites the header.
 */
export function clientAddressOf(
  address: string,
  headers: Record<string, string | string[] | undefined>,
): string {
  const forwarded = headers[FORWARDED_FOR];
  const value = Array.isArray(forwarded) ? forwarded.at(-1) : forwarded;
  if (value !== undefined && isLoopback(address)) {
    const last = value.split(",").at(-1)?.trim();
    if (last) return last;
  }
  return address;
}

function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function tokenOf(auth: unknown): string {
  const result = v.safeParse(schemas.HandshakeAuth, auth);
  // Same answer as a wrong token: a refusal says nothing about what was missing.
  if (!result.success) throw new AppError("INSUFFICIENT_PERMISSIONS");
  return result.output.token;
}

function parseHandshakeQuery(query: unknown): { sessionId: string; clientType: ClientType } {
  const sessionId = (query as Record<string, unknown> | null)?.sessionId;
  // A missing or malformed session id is the spec's INVALID_SESSION ("检查会话ID格式").
  schemas.parse(schemas.HandshakeQuery.entries.sessionId, sessionId, "INVALID_SESSION");
  return schemas.parse(schemas.HandshakeQuery, query);
}

type AckFn = (reply: Ack<unknown>) => void;

/** Socket.IO passes the acknowledgement last; a client may send it without a payload. */
function ackOf(args: unknown[]): AckFn | undefined {
  const last = args.at(-1);
  return typeof last === "function" ? (last as AckFn) : undefined;
}

function handle(
  socket: RealtimeSocket,
  event: keyof ClientToServerEvents,
  run: (payload: unknown) => Promise<unknown> | unknown,
  now: () => number,
): void {
  socket.on(event, async (...args: unknown[]) => {
    const ack = ackOf(args);
    const payload = args.length > 0 && args[0] !== ack ? args[0] : undefined;
    try {
      const data = await run(payload);
      ack?.({ ok: true, data });
    } catch (error) {
      fail(socket, event, ack, error, now);
    }
  });
}

function fail(
  socket: RealtimeSocket,
  event: string,
  ack: AckFn | undefined,
  error: unknown,
  now: () => number,
): void {
  // Not ours to judge (a thrown non-AppError) or a 5xx: our own fault, always logged; an
  // engine out of reach is neither (server/outage.ts).
  const appError = answerFor(error, () => console.error(`realtime: "${event}" failed:`, error));
  const payload: ErrorPayload = appError.toPayload();
  // The event goes first: a client that awaits the ack has then seen the event too.
  socket.emit("error", { event, error: payload, timestamp: new Date(now()).toISOString() });
  ack?.({ ok: false, error: payload });
}

/** The client's `connect_error` shows `message` and `data` (the ErrorPayload). */
function connectError(error: unknown): Error & { data: ErrorPayload } {
  const appError = answerFor(error, () => console.error("realtime: handshake failed:", error));
  return Object.assign(new Error(appError.message), { data: appError.toPayload() });
}
