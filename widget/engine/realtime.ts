/**
 * The session room: Socket.IO events and commands, with an HTTP polling fallback when the
 * socket is off, refused or out of reconnection attempts.
 */
import type { ClientType } from "../../protocol/events.ts";
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

type Settle = (value?: unknown) => void;

export interface RealtimeOptions {
  connect: EngineOptions["connectSocket"];
  url: string;
  sessionId: string;
  token: string;
  clientType: ClientType;
  pollIntervalMs: number;
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
  #syncing = false;
  #closed = false;
  /** Waiters of the first connection, and of command acks (close() settles both). */
  #ready = new Set<Settle>();
  #acks = new Set<Settle>();

  constructor(o: RealtimeOptions) {
    this.#o = o;
    const { url, sessionId, token, clientType } = o;
    const socket = o.connect?.({ url, sessionId, token, clientType });
    if (!socket) {
      this.#set("polling");
      return;
    }
    this.#socket = socket;
    for (const name of ROOM_EVENTS) socket.on(name, (payload) => o.onEvent(name, payload));
    socket.on("connect", () => this.#set("connected"));
    socket.on("disconnect", (reason) => {
      // The server closed the socket on purpose: socket.io-client will not reconnect.
      if (reason === "io server disconnect") this.#set("polling");
      else if (reason !== "io client disconnect") this.#set("reconnecting");
    });
    // A refused handshake leaves the socket inactive; with reconnection off nothing follows.
    socket.on("connect_error", () => {
      const manager = socket.io as { reconnection?: () => boolean };
      if (!(socket as { active?: boolean }).active || manager.reconnection?.() === false) {
        this.#set("polling");
      }
    });
    socket.io.on("reconnect_attempt", () => this.#set("reconnecting"));
    socket.io.on("reconnect_failed", () => this.#set("polling"));
  }

  /** Resolves once the first connection succeeded or failed, or after `ms`. */
  async ready(ms: number): Promise<void> {
    if (this.state === "connecting") await this.#wait(ms, this.#ready)[0];
  }

  /**
   * Emits a command and resolves with its ack's data (undefined on refusal or timeout).
   * Only while connected: socket.io-client would replay a buffered pause after a reconnect.
   */
  async command(name: string, payload: unknown): Promise<unknown> {
    const socket = this.#socket;
    if (!socket?.connected || this.#closed) return;
    const [reply, settle] = this.#wait(ACK_TIMEOUT_MS, this.#acks);
    socket.emit(name, payload, settle);
    const ack = await reply as { ok?: boolean; data?: unknown } | undefined;
    return ack?.ok ? ack.data : undefined;
  }

  close(): void {
    this.#closed = true;
    this.#o.clearTimeout(this.#timer);
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
    if (state === "connected" || state === "polling") this.#tick();
  }

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
