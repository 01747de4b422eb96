/**
 * WebSockets handed to the in-process engine.io server: the hop upgrades the public request
 * with Deno.upgradeWebSocket and gives the socket to engine.io the way its own `ws` server
 * would (`prepare`, `verify`, `onWebSocket`), so no loopback connection exists for them.
 * Long-polling still goes through the internal `node:http` server (hop.ts), which stays
 * bound to the hop's secret (inner_guard.ts): nothing new listens anywhere.
 */
import { AppError } from "../errors.ts";
import { EngineWebSocket } from "./engine_socket.ts";
import type { SocketLimits } from "./socket_limits.ts";

/** What engine.io reads of a request: node's IncomingMessage, as much as it uses. */
interface EngineRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  connection: { remoteAddress: string; encrypted: boolean };
  _query?: Record<string, string>;
}

type VerifyCallback = (code?: number, context?: unknown) => void;

/** engine.io's Server methods its `handleUpgrade` uses, which are public JavaScript. */
export interface EngineInternals {
  prepare(req: EngineRequest): void;
  verify(req: EngineRequest, upgrade: boolean, fn: VerifyCallback): void;
  onWebSocket(req: EngineRequest, socket: unknown, websocket: EngineWebSocket): void;
  middlewares?: unknown[];
}

/** A WebSocket upgrade the hop may accept: the public response and a handle to close it. */
export interface Upgraded {
  response: Response;
  close(code: number, reason: string): void;
}

export type EngineUpgrade = (
  req: Request,
  headers: Headers,
  limits: SocketLimits,
  onDone: () => void,
) => Upgraded | AppError;

/** The address engine.io records; the client's own is in X-Forwarded-For, as via the hop. */
const HOP_ADDRESS = "127.0.0.1";

export function engineUpgrade(engine: EngineInternals): EngineUpgrade {
  // `handleUpgrade` runs engine.io middlewares before `verify`; this path does not, so
  // they must not exist (engine.use() is never called here).
  if ((engine.middlewares?.length ?? 0) > 0) {
    throw new Error("engine.io middlewares are not run for in-process WebSockets");
  }
  return (req, headers, limits, onDone) => {
    const url = new URL(req.url);
    const request: EngineRequest = {
      method: "GET",
      url: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(headers),
      connection: { remoteAddress: HOP_ADDRESS, encrypted: url.protocol === "https:" },
    };
    engine.prepare(request);
    let refused: AppError | null = null;
    // Synchronous: socket.io sets no `allowRequest`, the only asynchronous step.
    let verified = false;
    engine.verify(request, true, (code, context) => {
      verified = true;
      if (code !== undefined) refused = refusal(code, context);
    });
    if (!verified) return new AppError("INTERNAL_ERROR", "engine.io verify did not answer");
    if (refused) return refused;

    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(req);
    } catch {
      // Not a valid upgrade request (e.g. no Sec-WebSocket-Key): nothing was opened.
      return new AppError("INVALID_REQUEST");
    }
    const websocket = new EngineWebSocket(upgraded.socket, limits, () => {
      // Only handshake failures (e.g. protocol 3) destroy the "socket"; the client hears
      // the same close as from a refused inner upgrade.
      const abortable = {
        writable: false,
        on() {},
        destroy: () => websocket.close(1011, "upstream closed"),
      };
      engine.onWebSocket(request, abortable, websocket);
    }, onDone);
    return {
      response: upgraded.response,
      close: (code, reason) => websocket.close(code, reason),
    };
  };
}

function refusal(code: number, context: unknown): AppError {
  const name = (context as { name?: unknown } | undefined)?.name;
  const detail = typeof name === "string" ? ` (${name})` : "";
  // engine.io's codes: 0 unknown transport, 1 unknown sid, 2 bad handshake method,
  // 3 bad request, 4 forbidden, 5 unsupported protocol version.
  const what = ["Unknown transport", "Unknown session id", "Bad handshake method"][code] ??
    "Bad request";
  return new AppError("INVALID_REQUEST", `${what}${detail}`);
}
