/**
 * The part of socket.io-client's `io(uri, opts)` the widget uses, in ~2 KB instead of ~9.5 KB
 * min+gzip (issue #8, "Size"): the build resolves `socket.io-client` here (slim_socket_io.ts).
 *
 * Engine.IO protocol v4 over WebSocket only (open `0{...}`, close `1`, ping `2` → pong `3`,
 * message `4`) and Socket.IO protocol v5 on the main namespace, JSON only (CONNECT `40{auth}`,
 * DISCONNECT `41`, EVENT `42<ack id>[...]`, ACK `43<id>[...]`, CONNECT_ERROR `44{...}`).
 * The behaviour follows socket.io-client 4.8 / engine.io-client 6.6 where the widget can
 * see it: event names and order, disconnect reasons, the Manager's backoff and events,
 * `active` after a refusal, a packet buffered while the ping has expired (a suspended tab).
 * Not here: binary payloads, namespaces, long-polling, volatile/timeout flags, onAny, and
 * acks the server asks for (it never does: it only acks the client's commands).
 */

type Listener = (...args: never[]) => void;
type Auth = Record<string, unknown> | ((cb: (data: Record<string, unknown>) => void) => void);

export interface ManagerOptions {
  /** Default "/socket.io" (a trailing slash is added, as engine.io-client does). */
  path?: string;
  query?: Record<string, string>;
  auth?: Auth;
  /** Only WebSocket exists here; the option is accepted for socket.io-client's typing. */
  transports?: string[];
  reconnection?: boolean;
  reconnectionAttempts?: number;
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  randomizationFactor?: number;
  /** Connection timeout before the Engine.IO handshake, default 20 000 ms. */
  timeout?: number;
}

class Emitter {
  #listeners: Record<string, Listener[]> = {};
  on(event: string, listener: Listener): this {
    (this.#listeners[event] ??= []).push(listener);
    return this;
  }
  off(event?: string, listener?: Listener): this {
    if (!event) this.#listeners = {};
    else this.#listeners[event] = (this.#listeners[event] ?? []).filter((l) => l !== listener);
    return this;
  }
  /** socket.io-client's `emitReserved`: to local listeners (a Socket's `emit` sends). */
  fire(event: string, ...args: unknown[]): void {
    for (const l of [...this.#listeners[event] ?? []]) (l as (...a: unknown[]) => void)(...args);
  }
}

/** One connection: Engine.IO over a WebSocket, with reconnection (socket.io-client's Manager). */
export class Manager extends Emitter {
  readyState: "closed" | "opening" | "open" = "closed";
  /** Reconnection attempts made (socket.io-client's `backoff.attempts`). */
  attempts = 0;
  reconnecting = false;
  socket?: Socket;
  #url: string;
  #o: ManagerOptions;
  #reconnection: boolean;
  #skip = false;
  #ws?: WebSocket;
  #timer?: ReturnType<typeof setTimeout>;
  #pingTimer?: ReturnType<typeof setTimeout>;
  /** When the server's next ping is overdue (Date.now() ms; 0 once expired). */
  #pingDeadline = 0;

  constructor(uri: string, o: ManagerOptions) {
    super();
    this.#o = o;
    this.#reconnection = o.reconnection !== false;
    const url = new URL(uri);
    const query = new URLSearchParams({ ...o.query, EIO: "4", transport: "websocket" });
    url.protocol = url.protocol.replace("http", "ws");
    url.pathname = `${(o.path ?? "/socket.io").replace(/\/$/, "")}/`;
    url.search = `${query}`;
    this.#url = `${url}`;
  }

  reconnection(value?: boolean): boolean | this {
    if (value === undefined) return this.#reconnection;
    // As socket.io-client: turning it off also cancels a reconnection under way.
    if (!(this.#reconnection = value)) this.#skip = true;
    return this;
  }

  /** Opens the connection; `done` replaces the reconnection that follows a failure. */
  open(done?: (error?: Error) => void): void {
    if (this.readyState !== "closed") return;
    this.readyState = "opening";
    this.#skip = false;
    const ws = this.#ws = new WebSocket(this.#url);
    const fail = (error: Error) => {
      this.#cleanup();
      this.readyState = "closed";
      this.fire("error", error);
      if (done) done(error);
      else if (!this.reconnecting && this.#reconnection && !this.attempts) this.#reconnect();
    };
    this.#timer = setTimeout(() => fail(new Error("timeout")), this.#o.timeout ?? 20_000);
    ws.onerror = ws.onclose = () => {
      if (this.readyState === "open") this.#close("transport close");
      else fail(new Error("websocket error"));
    };
    ws.onmessage = ({ data }) => {
      const text = `${data}`;
      const body = text.slice(1);
      if (text[0] === "0" && this.readyState === "opening") {
        const { pingInterval, pingTimeout } = JSON.parse(body);
        this.#pingEvery = pingInterval + pingTimeout;
        clearTimeout(this.#timer);
        this.readyState = "open";
        this.#heartbeat();
        addEventListener?.("offline", this.#offline);
        this.fire("open");
        this.socket?.onopen();
        done?.();
      } else if (text[0] === "2") {
        this.#heartbeat();
        ws.send("3");
      } else if (text[0] === "1") this.#close("transport close");
      else if (text[0] === "4") this.socket?.onpacket(body);
    };
  }

  #pingEvery = 0;
  #heartbeat(): void {
    clearTimeout(this.#pingTimer);
    this.#pingDeadline = Date.now() + this.#pingEvery;
    this.#pingTimer = setTimeout(() => this.#close("ping timeout"), this.#pingEvery);
  }

  #offline = () => this.#close("transport close");

  /** engine.io-client's `_hasPingExpired`: a throttled timer must not keep a dead socket. */
  expired(): boolean {
    const expired = this.readyState === "open" && Date.now() > this.#pingDeadline;
    if (expired) queueMicrotask(() => this.#close("ping timeout"));
    return expired;
  }

  send(packet: string): void {
    if (this.readyState === "open") this.#ws!.send(`4${packet}`);
  }

  #cleanup(): void {
    const ws = this.#ws;
    if (ws) {
      ws.onerror = ws.onclose = ws.onmessage = null;
      // A WebSocket still connecting cannot be closed without a console error in Chromium.
      if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close();
      else ws.close();
    }
    clearTimeout(this.#timer);
    clearTimeout(this.#pingTimer);
    removeEventListener?.("offline", this.#offline);
  }

  #close(reason: string): void {
    if (this.readyState === "closed" && reason !== "forced close") return;
    this.#cleanup();
    this.attempts = 0;
    this.readyState = "closed";
    this.fire("close", reason);
    if (this.socket?.active) this.socket.onclose(reason);
    if (this.#reconnection && !this.#skip) this.#reconnect();
  }

  /** Closes for good: the socket was disconnected or refused. */
  stop(): void {
    this.#skip = true;
    this.reconnecting = false;
    this.#close("forced close");
  }

  #reconnect(): void {
    if (this.reconnecting || this.#skip) return;
    const o = this.#o;
    if (this.attempts >= (o.reconnectionAttempts ?? Infinity)) {
      this.attempts = 0;
      this.fire("reconnect_failed");
      return;
    }
    // socket.io-client's Backoff: min * 2^attempt, ± randomizationFactor, capped.
    const min = o.reconnectionDelay ?? 1000;
    const jitter = (o.randomizationFactor ?? 0.5) * (2 * Math.random() - 1);
    const ms = Math.min(min * 2 ** this.attempts++ * (1 + jitter), o.reconnectionDelayMax ?? 5000);
    this.reconnecting = true;
    this.#timer = setTimeout(() => {
      if (this.#skip) return;
      this.fire("reconnect_attempt", this.attempts);
      if (this.#skip) return;
      this.open((error) => {
        this.reconnecting = false;
        if (error) {
          this.#reconnect();
          this.fire("reconnect_error", error);
        } else {
          const attempts = this.attempts;
          this.attempts = 0;
          this.fire("reconnect", attempts);
        }
      });
    }, ms);
  }
}

/** The main namespace's Socket (socket.io-client's Socket, JSON events and acks). */
export class Socket extends Emitter {
  readonly io: Manager;
  connected = false;
  id?: string;
  /** Subscribed to its Manager: connecting, connected or reconnecting. */
  active = false;
  auth?: Auth;
  #acks = new Map<number, (...args: unknown[]) => void>();
  #ackId = 0;
  #buffer: string[] = [];

  constructor(io: Manager, auth?: Auth) {
    super();
    this.io = io;
    this.auth = auth;
    io.socket = this;
  }

  connect(): this {
    if (this.connected) return this;
    this.active = true;
    if (!this.io.reconnecting) this.io.open();
    if (this.io.readyState === "open") this.onopen();
    return this;
  }

  /** Sends an event; a function as the last argument gets the server's ack. */
  emit(event: string, ...args: unknown[]): this {
    const ack = args.at(-1);
    let id = "";
    if (typeof ack === "function") {
      args.pop();
      this.#acks.set(this.#ackId, ack as (...a: unknown[]) => void);
      id += this.#ackId++;
    }
    const packet = `2${id}${JSON.stringify([event, ...args])}`;
    if (this.connected && !this.io.expired()) this.io.send(packet);
    else this.#buffer.push(packet);
    return this;
  }

  disconnect(): this {
    const connected = this.connected;
    if (connected) this.io.send("1");
    this.#destroy();
    if (connected) this.onclose("io client disconnect");
    return this;
  }

  onopen(): void {
    if (!this.active) return;
    const connect = (data?: unknown) => this.io.send(`0${data ? JSON.stringify(data) : ""}`);
    if (typeof this.auth === "function") this.auth(connect);
    else connect(this.auth);
  }

  onpacket(packet: string): void {
    if (!this.active) return;
    const [, type, digits, json] = packet.match(/^(\d)(\d*)(.*)$/s) ?? [];
    const data = json ? JSON.parse(json) : undefined;
    if (type === "0") {
      this.id = data.sid;
      this.connected = true;
      for (const queued of this.#buffer.splice(0)) this.io.send(queued);
      this.fire("connect");
    } else if (type === "2") {
      this.fire(...(data as [string, ...unknown[]]));
    } else if (type === "3") {
      const ack = this.#acks.get(+digits!);
      this.#acks.delete(+digits!);
      ack?.(...data);
    } else if (type === "1") {
      this.#destroy();
      this.onclose("io server disconnect");
    } else if (type === "4") {
      this.#destroy();
      this.fire("connect_error", Object.assign(new Error(data.message), { data: data.data }));
    }
  }

  /** The Manager's error before a connection (its close after one is `onclose`). */
  onerror(error: Error): void {
    if (!this.connected) this.fire("connect_error", error);
  }

  onclose(reason: string): void {
    this.connected = false;
    this.id = undefined;
    this.fire("disconnect", reason);
  }

  #destroy(): void {
    this.active = false;
    this.io.stop();
  }
}

/** `io(uri, opts)`: a new connection to the main namespace, connecting at once. */
export function io(uri: string, opts: ManagerOptions = {}): Socket {
  const manager = new Manager(uri, opts);
  manager.on("error", (error: Error) => manager.socket?.active && manager.socket.onerror(error));
  return new Socket(manager, opts.auth).connect();
}

export default io;
