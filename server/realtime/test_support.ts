/** Shared fixtures of the realtime tests: a fake service, a public server and clients. */
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import type {
  ClientToServerEvents,
  RoomEvent,
  ServerToClientEvents,
  UploadCancelEvent,
  UploadPauseEvent,
  UploadResumeEvent,
  UploadStartEvent,
} from "../../protocol/events.ts";
import type { SessionSnapshot } from "../../protocol/session.ts";
import { AppError } from "../errors.ts";
import type { SessionCommands } from "../upload/commands.ts";
import { EventBus } from "../upload/event_bus.ts";
import type { RateLimit } from "../http/rate_limit.ts";
import { type Realtime, type RealtimeOptions, startRealtime } from "./socket_server.ts";
import type { SocketLimits } from "./socket_limits.ts";

export type Client = ClientSocket<ServerToClientEvents, ClientToServerEvents>;

export const SESSION_A = "6f1c2c1e-8f7a-4b8e-9a51-2a7d1f0b9c01";
export const SESSION_B = "0d5b8a6e-3c2f-4e7a-8b1d-9f4e2a6c7b02";
export const ALLOWED_ORIGIN = "http://allowed.test";
export const EVIL_ORIGIN = "http://evil.test";

/** Accepts exactly the token "good-<sessionId>". Fails pause of "missing" and "boom". */
export class FakeCommands implements SessionCommands {
  readonly calls: { name: string; command: unknown }[] = [];
  #version = 0;

  authorize(token: string, sessionId: string): Promise<void> {
    if (token !== `good-${sessionId}`) {
      return Promise.reject(new AppError("INSUFFICIENT_PERMISSIONS"));
    }
    return Promise.resolve();
  }

  snapshot(sessionId: string): Promise<SessionSnapshot> {
    this.#version += 1;
    return Promise.resolve({
      sessionId,
      overallStatus: "uploading",
      totalProgress: this.#version,
      completedFiles: 0,
      failedFiles: 0,
      message: `snapshot ${this.#version}`,
      timestamp: new Date(0).toISOString(),
      files: [{
        id: "file-1",
        originalName: "a.jpg",
        progress: 10,
        status: "uploading",
        uploadedBytes: 10,
        totalBytes: 100,
      }],
    });
  }

  start(command: UploadStartEvent): Promise<SessionSnapshot> {
    return this.#record("start", command);
  }
  pause(command: UploadPauseEvent): Promise<SessionSnapshot> {
    if (command.fileId === "missing") return Promise.reject(new AppError("FILE_NOT_FOUND"));
    if (command.fileId === "boom") return Promise.reject(new Error("secret database detail"));
    if (command.fileId === "disk-full") return Promise.reject(new AppError("STORAGE_FULL"));
    return this.#record("pause", command);
  }
  resume(command: UploadResumeEvent): Promise<SessionSnapshot> {
    return this.#record("resume", command);
  }
  cancel(command: UploadCancelEvent): Promise<SessionSnapshot> {
    return this.#record("cancel", command);
  }

  #record(name: string, command: UploadStartEvent | UploadPauseEvent): Promise<SessionSnapshot> {
    this.calls.push({ name, command });
    return this.snapshot(command.sessionId);
  }
}

export interface HarnessOptions {
  now?: () => number;
  rateLimit?: RateLimit;
  limits?: Partial<SocketLimits>;
  adapter?: RealtimeOptions["adapter"];
}

export interface ConnectOptions {
  token?: string | null;
  clientType?: string | null;
  transports?: ("polling" | "websocket")[];
  extraHeaders?: Record<string, string>;
}

export class Harness implements AsyncDisposable {
  readonly bus = new EventBus();
  readonly commands = new FakeCommands();
  readonly clients = new Set<Client>();
  realtime!: Realtime;
  server!: Deno.HttpServer<Deno.NetAddr>;

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness();
    h.realtime = await startRealtime({
      commands: h.commands,
      events: h.bus,
      isOriginAllowed: (origin) => origin === null || origin === ALLOWED_ORIGIN,
      now: options.now,
      rateLimit: options.rateLimit,
      limits: options.limits,
      adapter: options.adapter,
    });
    h.server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      (req, info) =>
        new URL(req.url).pathname.startsWith("/socket.io/")
          ? h.realtime.handle(req, info)
          : new Response("not found", { status: 404 }),
    );
    return h;
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.addr.port}`;
  }

  /** A client that does not reconnect (a reconnection would outlive the test). */
  connect(sessionId: string, options: ConnectOptions = {}): Client {
    const token = options.token === undefined ? `good-${sessionId}` : options.token;
    const clientType = options.clientType === undefined ? "web" : options.clientType;
    const query: Record<string, string> = { sessionId };
    if (clientType !== null) query.clientType = clientType;
    const client: Client = connectClient(this.url, {
      forceNew: true,
      reconnection: false,
      transports: options.transports ?? ["polling", "websocket"],
      query,
      auth: token === null ? {} : { token },
      extraHeaders: options.extraHeaders,
    });
    this.clients.add(client);
    return client;
  }

  /** Connects and resolves once the server's "connected" status arrived. */
  async watcher(sessionId: string, options: ConnectOptions = {}): Promise<Client> {
    const client = this.connect(sessionId, options);
    const status = await once(client, "connection-status");
    if (status.status !== "connected") throw new Error(`unexpected status ${status.status}`);
    return client;
  }

  /** Closes clients, waits until the server saw them leave, then closes both servers. */
  async [Symbol.asyncDispose](): Promise<void> {
    const gone = [...this.realtime.io.of("/").sockets.values()].map((socket) =>
      new Promise<void>((resolve) => socket.once("disconnect", () => resolve()))
    );
    for (const client of this.clients) client.close();
    await Promise.all(gone);
    await this.realtime.close();
    await this.server.shutdown();
  }
}

type Listener<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];

/** The next `event` on `client`; rejects on timeout so a failing test does not hang. */
export function once<E extends keyof ServerToClientEvents>(
  client: Client,
  event: E,
  timeoutMs = 5000,
): Promise<Listener<E>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, handler as never);
      reject(new Error(`timed out waiting for "${event}"`));
    }, timeoutMs);
    const handler = (payload: Listener<E>) => {
      clearTimeout(timer);
      resolve(payload);
    };
    client.once(event, handler as never);
  });
}

/** The `connect_error` of a refused client. */
export function connectError(
  client: Client,
  timeoutMs = 5000,
): Promise<Error & { data?: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("timed out waiting for connect_error")),
      timeoutMs,
    );
    client.once("connect_error", (error) => {
      clearTimeout(timer);
      resolve(error as Error & { data?: unknown });
    });
    client.once("connect", () => {
      clearTimeout(timer);
      reject(new Error("connected although it should have been refused"));
    });
  });
}

/** Records every room event a client receives, in order. */
export function record(client: Client): { name: string; payload: unknown }[] {
  const seen: { name: string; payload: unknown }[] = [];
  client.onAny((name: string, payload: unknown) => {
    if (name !== "connection-status" && name !== "error") seen.push({ name, payload });
  });
  return seen;
}

/** A marker event; once a client got it, every earlier event for that client has arrived. */
export function sentinel(sessionId: string, fileId = "sentinel"): RoomEvent {
  return {
    name: "upload-started",
    payload: {
      sessionId,
      fileId,
      fileName: "s",
      fileSize: 0,
      startTime: new Date(0).toISOString(),
    },
  };
}

export function progressEvent(
  sessionId: string,
  file?: { id: string; progress: number; status: "uploading" | "paused" | "completed" | "failed" },
): RoomEvent {
  return {
    name: "upload-progress",
    payload: {
      sessionId,
      overallStatus: "uploading",
      totalProgress: file?.progress ?? 0,
      completedFiles: 0,
      failedFiles: 0,
      message: "progress",
      timestamp: new Date(0).toISOString(),
      ...(file === undefined ? {} : {
        currentFile: {
          id: file.id,
          originalName: `${file.id}.bin`,
          progress: file.progress,
          status: file.status,
          uploadedBytes: file.progress,
          totalBytes: 100,
        },
      }),
    },
  };
}

/** Resolves when `client` received `count` more events named `name` (after the call). */
export function nextEvents(
  client: Client,
  name: string,
  count: number,
  timeoutMs = 5000,
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const handler = (event: string, payload: unknown) => {
      if (event !== name) return;
      got.push(payload);
      if (got.length === count) {
        clearTimeout(timer);
        client.offAny(handler);
        resolve(got);
      }
    };
    const timer = setTimeout(() => {
      client.offAny(handler);
      reject(new Error(`timed out: ${got.length}/${count} "${name}"`));
    }, timeoutMs);
    client.onAny(handler);
  });
}
