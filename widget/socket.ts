/** The engine's socket factory, built on socket.io-client (the room's live state). */
import { io } from "socket.io-client";
import type { EngineOptions, RealtimeSocket } from "./engine/types.ts";

/**
 * Opens the session's Socket.IO connection. The endpoint's path, if any, is a prefix of
 * `/socket.io` (a server behind a proxy at `/uploads`), never a Socket.IO namespace.
 *
 * WebSocket only: engine.io opens the first listed transport alone (`tryAllTransports`
 * is off), so listing "polling" after it changed nothing but the bundle size. When the
 * WebSocket cannot connect, the engine polls `GET /api/sessions/:id` (state "polling").
 */
export const connectSocket: NonNullable<EngineOptions["connectSocket"]> = (
  { url, sessionId, token, clientType, reconnectAttempts },
) => {
  const { origin, pathname } = new URL(url);
  return io(origin, {
    path: `${pathname.replace(/\/+$/, "")}/socket.io`,
    // A function: socket.io reads it before every attempt, so the server hears the count
    // (README, `reconnectAttempts`) and answers a comeback with connection-status.
    auth: (cb) => cb({ token, reconnectAttempts: reconnectAttempts() }),
    query: { sessionId, clientType },
    transports: ["websocket"],
    reconnection: true,
    reconnectionAttempts: 3,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
  }) as unknown as RealtimeSocket;
};
