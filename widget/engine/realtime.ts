/**
 * The session room: Socket.IO events and commands, with an HTTP fallback when the socket is
 * off, refused or out of reconnection attempts: polling, commands over HTTP, and redials.
 */
import type { ClientType } from "../../protocol/events.ts";
import type { CommandAck, SendCommand } from "./http_commands.ts";
import type { ConnectionState, EngineOptions, RealtimeSocket } from "./types.ts";

/** Server events the engine listens to (every one goes to `onEvent`). */
export const ROOM_EVENTS = [
  "upload-progress",
  "upload-started",
  "upload-completed",
  "upload-failed",
  "upload-cancelled",
  "upload-paused",
  "upload-resumed",
  "session-completed",
  "session-error",
] as const;

const ACK_TIMEOUT_MS = 5000;
/** Redials while polling: full jitter over 1 s, 2 s, 4 s ... capped at 30 s (issue #8). */
const REDIAL_BASE_MS = 1000;
const REDIAL_MAX_MS = 30_000;

type Settle = (value?: unknown) => void;

export interface RealtimeOptions {
  connect: EngineOptions["connectSocket"];
  url: string;
  sessionId: string;
  token: string;
  clientType: ClientType;
  pollIntervalMs: number;
  /** The commands while the socket is not connected (HTTP); none: they are local only. */
  fallback?: SendCommand;
  /** 0 <= x < 1, the redial jitter (Math.random by default; tests pin it). */
  random?: () => number;
  /** Reads and merges the session snapshot; never rejects. Runs on connect and while polling. */
  sync(): Promise<void>;
  onEvent(name: string, payload: unknown): void;
  onState(state: ConnectionState): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export class Realtime {
  state: ConnectionState = "connecting";
  #o: RealtimeOptions;
  #socket: RealtimeSocket | null = null;
  #timer: unknown;
  #redialTimer: unknown;
  /** Redials since polling began (the backoff's exponent). */
  #redials = 0;
  /** Connection attempts since the last connection, told to the server in the handshake. */
  #attempts = 0;
  #syncing = false;
  #closed = false;
  /** Waiters of the first connection, and of command acks (close() settles both). */
  #ready = new Set<Settle>();
  #acks = new Set<Settle>();

  constructor(o: RealtimeOptions) {
    this.#o = o;
    const { url, sessionId, token, clientType } = o;
    const socket = o.connect?.({
      url,
      sessionId,
      token,
      clientType,
      reconnectAttempts: () => this.#attempts,
    });
    if (!socket) {
      this.#set("polling");
      return;
    }
    this.#socket = socket;
    for (const name of ROOM_EVENTS) socket.on(name, (payload) => o.onEvent(name, payload));
    socket.on("connect", () => {
      this.#attempts = this.#redials = 0;
      // Back to socket.io's own quick reconnection for the next drop (redials turned it off).
      socket.io.reconnection?.(true);
      this.#set("connected");
    });
    socket.on("disconnect", (reason) => {
      // The server closed the socket on purpose: socket.io-client will not reconnect.
      if (reason === "io server disconnect") this.#set("polling");
      else if (reason !== "io client disconnect") this.#set("reconnecting");
    });
    // A refused handshake leaves the socket inactive; with reconnection off nothing follows.
    socket.on("connect_error", () => {
      if (!(socket as { active?: boolean }).active || socket.io.reconnection?.() === false) {
        this.#set("polling");
      }
    });
    socket.io.on("reconnect_attempt", () => {
      this.#attempts++;
      this.#set("reconnecting");
    });
    socket.io.on("reconnect_failed", () => this.#set("polling"));
  }

  /** Resolves once the first connection succeeded or failed, or after `ms`. */
  async ready(ms: number): Promise<void> {
    if (this.state === "connecting") await this.#wait(ms, this.#ready)[0];
  }

  /**
   * Sends a command and resolves with its ack (undefined after ACK_TIMEOUT_MS, on close, or
   * with no way to send it). The socket only while connected (socket.io-client would replay a
   * buffered pause after a reconnect); otherwise the fallback, the one other transport.
   */
  command(
    name: string,
    payload: Parameters<SendCommand>[1],
  ): Promise<CommandAck | undefined> {
    const socket = this.#socket;
    const [reply, settle] = this.#wait(ACK_TIMEOUT_MS, this.#acks);
    if (this.#closed) settle();
    else if (socket?.connected) socket.emit(name, payload, settle);
    else if (this.#o.fallback) this.#o.fallback(name, payload).then(settle, () => settle());
    else settle();
    return reply as Promise<CommandAck | undefined>;
  }

  /**
   * The network may be back (online, page visible): while polling, redial now rather than
   * after the rest of a backoff that may be up to 30 s long.
   */
  wake(): void {
    // (Only polling has a redial planned, and #redial does nothing in the other states.)
    this.#o.clearTimeout(this.#redialTimer);
    this.#redial();
  }

  close(): void {
    this.#closed = true;
    this.#o.clearTimeout(this.#timer);
    this.#o.clearTimeout(this.#redialTimer);
    for (const settle of [...this.#ready, ...this.#acks]) settle();
    this.#socket?.disconnect();
  }

  /** A promise settled by its `settle`, by close() or after `ms`; its timer never outlives it. */
  #wait(ms: number, set: Set<Settle>): [Promise<unknown>, Settle] {
    let settle!: Settle;
    const promise = new Promise((resolve) => {
      const timer = this.#o.setTimeout(() => settle(), ms);
      settle = (value) => {
        set.delete(settle);
        this.#o.clearTimeout(timer);
        resolve(value);
      };
      set.add(settle);
    });
    return [promise, settle];
  }

  #set(state: ConnectionState): void {
    if (this.#closed || state === this.state) return;
    const first = this.state === "connecting";
    this.state = state;
    this.#o.onState(state);
    if (first) { for (const settle of [...this.#ready]) settle(); }
    this.#o.clearTimeout(this.#redialTimer);
    if (state === "polling" && this.#socket) {
      // Our redials only: socket.io would answer each failed one with a reconnection cycle.
      this.#socket.io.reconnection?.(false);
      this.#redial(false);
    }
    if (state === "connected" || state === "polling") this.#tick();
  }

  /** While polling, tries the socket again after a growing random wait; "connect" ends it. */
  #redial = (now = true): void => {
    if (this.#closed || this.state !== "polling") return;
    if (now) this.#redials++;
    const ms = Math.min(REDIAL_MAX_MS, REDIAL_BASE_MS * 2 ** this.#redials);
    // Planned before connect(): a connection that opens at once clears it.
    this.#redialTimer = this.#o.setTimeout(this.#redial, (this.#o.random ?? Math.random)() * ms);
    if (now) {
      this.#attempts++;
      this.#socket!.connect();
    }
  };

  /** One sync now (events may have been missed); repeated while polling. */
  #tick = (): void => {
    this.#o.clearTimeout(this.#timer);
    if (this.#syncing || this.#closed) return;
    this.#syncing = true;
    this.#o.sync().finally(() => {
      this.#syncing = false;
      if (this.state === "polling" && !this.#closed) {
        this.#timer = this.#o.setTimeout(this.#tick, this.#o.pollIntervalMs);
      }
    });
  };
}
