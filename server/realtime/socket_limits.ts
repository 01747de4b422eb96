/**
 * Limits of the public Socket.IO side, in one place so the hop, the internal server and the
 * README agree. Socket frames carry commands and progress only (upload bytes go through
 * tus): the largest legitimate message is a `join-session` with a token, well under 1 KiB.
 */

/** engine.io `maxHttpBufferSize`: one WebSocket message or one long-polling POST body. */
export const MAX_SOCKET_MESSAGE_BYTES = 64 * 1024;

/**
 * Unsent bytes a piped WebSocket may hold for a peer that does not read. Progress for a
 * busy room is a few KiB per second; a peer this far behind is gone or hostile.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/** Public WebSockets open at once per client address (a browser opens one per page). */
export const MAX_SOCKETS_PER_ADDRESS = 16;

/** Close codes the public socket may see (RFC 6455 §7.4.1). */
export const CLOSE = {
  /** A message above MAX_SOCKET_MESSAGE_BYTES. */
  TOO_BIG: { code: 1009, reason: "message too big" },
  /** A peer that leaves more than MAX_BUFFERED_BYTES unsent, either way. */
  SLOW_PEER: { code: 1008, reason: "too much unsent data" },
  /** More than MAX_BUFFERED_BYTES received in a second (in-process WebSockets). */
  FLOOD: { code: 1008, reason: "too much incoming data" },
  /** Events beyond the socket's rate, past the answered ones. */
  RATE: { code: 1008, reason: "event rate exceeded" },
} as const;

export interface SocketLimits {
  maxMessageBytes: number;
  maxBufferedBytes: number;
  maxSocketsPerAddress: number;
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = {
  maxMessageBytes: MAX_SOCKET_MESSAGE_BYTES,
  maxBufferedBytes: MAX_BUFFERED_BYTES,
  maxSocketsPerAddress: MAX_SOCKETS_PER_ADDRESS,
};
