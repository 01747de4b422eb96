/** Real socket.io-client watchers and an event recorder to wait on. */
import { io, type Socket } from "socket.io-client";
import type {
  Ack,
  ClientToServerEvents,
  ProgressUpdateEvent,
  ServerToClientEvents,
} from "../../protocol/events.ts";
import type { ErrorPayload } from "../../protocol/errors.ts";
import type { RoomEventSource } from "../../server/upload/commands.ts";
import type { ProgressDelta, ProgressDeltaSource } from "../../server/upload/progress_delta.ts";
import { DeadlineError, WAIT_MS, within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
export type EventName = keyof ServerToClientEvents;
export type Payload<E extends EventName> = Parameters<ServerToClientEvents[E]>[0];
export type Transport = "polling" | "websocket";
/** The name ofBus records the service's progress deltas under (not a socket event). */
export const PROGRESS_DELTA = "progress-delta";

export interface Recorded {
  name: string;
  payload: unknown;
}

interface Waiter {
  name: string;
  predicate: (payload: unknown) => boolean;
  resolve: (payload: unknown) => void;
}

/**
 * Records every event a socket receives, in order, from its creation on; `waitFor` resolves
 * on the first recorded (or future) match, so an event that came before the wait counts.
 */
export class EventLog {
  readonly all: Recorded[] = [];
  #waiters = new Set<Waiter>();

  /** Records everything `socket` receives from now on. */
  static of(socket: Client): EventLog {
    const log = new EventLog();
    socket.onAny((name: string, payload: unknown) => log.record(name, payload));
    return log;
  }

  /**
   * Records the server's domain events before the realtime throttle (what the service
   * published, not what watchers got); `stop` unsubscribes.
   */
  static ofBus(
    bus: RoomEventSource & Partial<ProgressDeltaSource>,
  ): { log: EventLog; stop: () => void } {
    const log = new EventLog();
    const stop = bus.subscribe((event) => log.record(event.name, event.payload));
    // The service's per-file progress news (unthrottled), under their own name.
    const stopDeltas = bus.subscribeProgress?.((delta) => log.record(PROGRESS_DELTA, delta));
    return {
      log,
      stop: () => {
        stop();
        stopDeltas?.();
      },
    };
  }

  /** The bus's progress deltas of one file so far (see ofBus). */
  fileDeltas(fileId: string): Extract<ProgressDelta, { kind: "file" }>[] {
    return this.all.flatMap((e) =>
      e.name === PROGRESS_DELTA && (e.payload as ProgressDelta).kind === "file" &&
        (e.payload as Extract<ProgressDelta, { kind: "file" }>).file.id === fileId
        ? [e.payload as Extract<ProgressDelta, { kind: "file" }>]
        : []
    );
  }

  /** The first file delta (recorded or future) of `fileId` with `bytes` or more committed. */
  committed(
    fileId: string,
    bytes: number,
    options: { ms?: number; what?: string } = {},
  ): Promise<unknown> {
    return this.#wait(
      PROGRESS_DELTA,
      (p) => {
        const d = p as ProgressDelta;
        return d.kind === "file" && d.file.id === fileId && d.file.offset >= bytes;
      },
      { what: `the service to commit ${bytes} bytes of ${fileId}`, ...options },
    );
  }

  record(name: string, payload: unknown): void {
    this.all.push({ name, payload });
    for (const waiter of this.#waiters) {
      if (waiter.name === name && waiter.predicate(payload)) {
        this.#waiters.delete(waiter);
        waiter.resolve(payload);
      }
    }
  }

  /** Payloads of every `name` event so far. */
  named<E extends EventName>(name: E): Payload<E>[] {
    return this.all.filter((e) => e.name === name).map((e) => e.payload as Payload<E>);
  }

  /** Names of the room events so far (without `connection-status` and `error`). */
  roomEventNames(): string[] {
    return this.all.map((e) => e.name).filter((n) => n !== "connection-status" && n !== "error");
  }

  /**
   * The first `name` event (from index `from` of the log on) matching `predicate`; fails
   * after `ms` naming what it waited for and what arrived instead.
   */
  async waitFor<E extends EventName>(
    name: E,
    predicate: (payload: Payload<E>) => boolean = () => true,
    options: { ms?: number; from?: number; what?: string } = {},
  ): Promise<Payload<E>> {
    return await this.#wait(name, predicate as (payload: unknown) => boolean, options) as Payload<
      E
    >;
  }

  async #wait(
    name: string,
    test: (payload: unknown) => boolean,
    options: { ms?: number; from?: number; what?: string },
  ): Promise<unknown> {
    const seen = this.all.slice(options.from ?? 0).find((e) => e.name === name && test(e.payload));
    if (seen) return seen.payload;
    const { promise, resolve } = Promise.withResolvers<unknown>();
    const waiter: Waiter = { name, predicate: test, resolve };
    this.#waiters.add(waiter);
    const ms = options.ms ?? WAIT_MS;
    try {
      return await within(promise, options.what ?? `"${name}"`, ms);
    } catch (error) {
      if (error instanceof DeadlineError) {
        const tail = this.all.slice(-12).map((e) => e.name).join(", ");
        throw new DeadlineError(`${options.what ?? `"${name}"`} (last events: ${tail})`, ms);
      }
      throw error;
    } finally {
      this.#waiters.delete(waiter);
    }
  }
}

export interface Watcher extends AsyncDisposable {
  socket: Client;
  events: EventLog;
  /** Disconnects and waits for the transport to close (idempotent). */
  close(): Promise<void>;
}

export interface ConnectOptions {
  sessionId: string;
  token: string;
  transports?: Transport[];
  /** Closes the watcher when the scope closes. */
  scope?: Scope;
  /** Handshake `auth` fields besides the token (e.g. `reconnectAttempts`). */
  auth?: Record<string, unknown>;
}

/** A client that never reconnects: a reconnection attempt would outlive the test. */
function client(baseUrl: string, options: ConnectOptions): Client {
  return io(baseUrl, {
    path: "/socket.io",
    forceNew: true,
    reconnection: false,
    transports: options.transports ?? ["websocket"],
    auth: { ...options.auth, token: options.token },
    query: { sessionId: options.sessionId, clientType: "web" },
  });
}

/** Connects a watcher and resolves on `connect`; rejects with the `connect_error`. */
export async function connectWatcher(baseUrl: string, options: ConnectOptions): Promise<Watcher> {
  const socket = client(baseUrl, options);
  const events = EventLog.of(socket);
  const connected = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (error) => reject(error));
  });
  try {
    await within(connected, `socket connect to session ${options.sessionId}`);
    await events.waitFor("connection-status", (s) => s.status === "connected");
  } catch (error) {
    await closeSocket(socket);
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () => closing ??= closeSocket(socket);
  options.scope?.defer("close a watcher", close);
  return { socket, events, close, [Symbol.asyncDispose]: close };
}

/** A socket the server must refuse: resolves with its `connect_error`. */
export async function refusedConnection(
  baseUrl: string,
  options: ConnectOptions,
): Promise<Error & { data?: ErrorPayload }> {
  const socket = client(baseUrl, options);
  try {
    return await within(
      new Promise<Error & { data?: ErrorPayload }>((resolve, reject) => {
        socket.once("connect_error", (error) => resolve(error as Error & { data?: ErrorPayload }));
        socket.once("connect", () => reject(new Error("connected although it must be refused")));
      }),
      "connect_error",
    );
  } finally {
    await closeSocket(socket);
  }
}

/**
 * Disconnects and waits until the transport underneath is closed, so no timer, request or
 * TCP read of the client outlives the test (Deno's sanitizers would report it).
 */
export async function closeSocket(socket: Client): Promise<void> {
  const engine = socket.io.engine as unknown as EngineLike | undefined;
  const transportClosed = engine ? transportGone(engine) : Promise.resolve();
  if (socket.connected) {
    const disconnected = new Promise<void>((resolve) => socket.once("disconnect", () => resolve()));
    socket.disconnect();
    await within(disconnected, "socket disconnect");
  } else {
    socket.disconnect();
  }
  socket.io.engine?.close();
  await within(transportClosed, "socket transport close");
}

interface EngineLike {
  readyState: string;
  transport?: { name: string; ws?: WsLike };
  once(event: "close", listener: () => void): void;
}
interface WsLike {
  readyState: number;
  once(event: "close", listener: () => void): void;
}

/** Resolves when the engine.io socket and (for WebSocket) its `ws` connection are closed. */
function transportGone(engine: EngineLike): Promise<void> {
  const waits: Promise<void>[] = [];
  if (engine.readyState !== "closed") {
    waits.push(new Promise((resolve) => engine.once("close", () => resolve())));
  }
  const ws = engine.transport?.ws;
  // 3 = CLOSED: the TCP connection is gone.
  if (ws && ws.readyState !== 3) {
    waits.push(new Promise((resolve) => ws.once("close", () => resolve())));
  }
  return Promise.all(waits).then(() => {});
}

/** Emits a command and resolves with its acknowledgement. */
export async function command<E extends Exclude<keyof ClientToServerEvents, "join-session">>(
  socket: Client,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
): Promise<Ack<ProgressUpdateEvent>> {
  const { promise, resolve } = Promise.withResolvers<Ack<ProgressUpdateEvent>>();
  const emit = socket.emit as unknown as (
    event: string,
    payload: unknown,
    ack: (reply: Ack<ProgressUpdateEvent>) => void,
  ) => void;
  emit.call(socket, event, payload, resolve);
  return await within(promise, `the ack of "${event}"`);
}

/** The `data` of an ok acknowledgement; throws with the error otherwise. */
export function okData<T>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`command refused: ${JSON.stringify(ack.error)}`);
  return ack.data;
}
