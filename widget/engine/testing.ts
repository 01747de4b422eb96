/**
 * Test support for the engine (not shipped): a real server in-process, real socket.io-client
 * sockets closed cleanly, an HttpStack that counts, holds and fails requests, and waits on
 * snapshots and events bounded by a deadline (never a sleep).
 */
import { io, type Socket } from "socket.io-client";
import { loadConfig } from "../../server/config.ts";
import { type RunningServer, startServer } from "../../server/main.ts";
import type { UploadEngine } from "./engine.ts";
import { fetchHttpStack } from "./fetch_http.ts";
import type {
  EngineEvents,
  EngineOptions,
  EngineSnapshot,
  HttpRequest,
  HttpResponse,
  HttpStack,
  RealtimeSocket,
} from "./types.ts";

export const WAIT_MS = 20_000;

// ------------------------------------------------------------------ deadlines

export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short text of a snapshot for failure messages. */
export function describe(s: EngineSnapshot): string {
  return `${s.connection} ` +
    s.files.map((f) =>
      `${f.name}:${f.status}:${f.bytesConfirmed}/${f.size}${f.error ? `:${f.error.code}` : ""}`
    ).join(" ");
}

/** The first snapshot (current or coming) that satisfies `predicate`. */
export function waitFor(
  engine: UploadEngine,
  predicate: (s: EngineSnapshot) => boolean,
  what: string,
  ms = WAIT_MS,
): Promise<EngineSnapshot> {
  const { promise, resolve } = Promise.withResolvers<EngineSnapshot>();
  const check = (s: EngineSnapshot) => predicate(s) && resolve(s);
  const unsubscribe = engine.subscribe(check);
  check(engine.snapshot);
  return within(promise, `${what} (now: ${describe(engine.snapshot)})`, ms)
    .finally(unsubscribe);
}

type Recorded = { [K in keyof EngineEvents]: { name: K; detail: EngineEvents[K] } }[
  keyof EngineEvents
];

/** Every engine event from now on, in order. */
export function recordEvents(engine: UploadEngine): Recorded[] {
  const log: Recorded[] = [];
  const names: (keyof EngineEvents)[] = [
    "upload-start",
    "upload-progress",
    "upload-complete",
    "upload-error",
    "session-complete",
  ];
  for (const name of names) {
    engine.on(name, (detail) => log.push({ name, detail } as Recorded));
  }
  return log;
}

export function waitForEvent<K extends keyof EngineEvents>(
  engine: UploadEngine,
  name: K,
  predicate: (detail: EngineEvents[K]) => boolean = () => true,
  ms = WAIT_MS,
): Promise<EngineEvents[K]> {
  const { promise, resolve } = Promise.withResolvers<EngineEvents[K]>();
  const off = engine.on(name, (detail) => predicate(detail) && resolve(detail));
  return within(promise, `engine event "${name}" (now: ${describe(engine.snapshot)})`, ms)
    .finally(off);
}

// ------------------------------------------------------------------ server

export interface TestServer extends AsyncDisposable {
  url: string;
  dataDir: string;
  running: RunningServer;
  /** POST /api/sessions, for tests where a host page's backend made the session. */
  createSession(): Promise<{ sessionId: string; token: string }>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "h5-engine-" });
  const running = await startServer(
    loadConfig({ H5_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", ...env }),
    { quiet: true },
  );
  return {
    url: running.url,
    dataDir,
    running,
    async createSession() {
      const res = await fetch(`${running.url}/api/sessions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ category: "personal", clientType: "web" }),
      });
      return await res.json();
    },
    async [Symbol.asyncDispose]() {
      await running.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

export async function sha256(data: Blob | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------------ sockets

/**
 * `connectSocket` with the real socket.io-client (no reconnection: an attempt would outlive
 * the test); records what each socket sent and received; close() waits for the transports.
 */
export class SocketPool {
  readonly sockets: Socket[] = [];
  readonly sent: { name: string; payload: unknown }[] = [];
  readonly received: { name: string; payload: unknown }[] = [];
  #url: string | undefined;

  /** `url`: connect there instead (a dead port, to test the fallback). */
  constructor(url?: string) {
    this.#url = url;
  }

  connect: NonNullable<EngineOptions["connectSocket"]> = (o) => {
    const socket = io(this.#url ?? o.url, {
      auth: { token: o.token },
      query: { sessionId: o.sessionId, clientType: o.clientType },
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
    });
    this.sockets.push(socket);
    socket.onAny((name: string, payload: unknown) => this.received.push({ name, payload }));
    socket.onAnyOutgoing((name: string, payload: unknown) => this.sent.push({ name, payload }));
    return socket as unknown as RealtimeSocket;
  };

  /** Resolves when some socket received `name` matching `predicate` (before or after now). */
  heard(name: string, predicate: (payload: never) => boolean = () => true): Promise<unknown> {
    const test = (e: { name: string; payload: unknown }) =>
      e.name === name && predicate(e.payload as never);
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen.payload);
    const { promise, resolve } = Promise.withResolvers<unknown>();
    const listeners = this.sockets.map((socket) => {
      const listener = (n: string, payload: unknown) =>
        test({ name: n, payload }) && resolve(payload);
      socket.onAny(listener);
      return () => socket.offAny(listener);
    });
    return within(promise, `socket event "${name}"`).finally(() => listeners.forEach((f) => f()));
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map(closeSocket));
  }
}

interface EngineLike {
  readyState: string;
  transport?: { ws?: { readyState: number; once(e: "close", f: () => void): void } };
  once(event: "close", listener: () => void): void;
}

/** Disconnects and waits until the transport is closed (no timer or read outlives a test). */
async function closeSocket(socket: Socket): Promise<void> {
  const engine = socket.io.engine as unknown as EngineLike | undefined;
  const waits: Promise<void>[] = [];
  if (engine && engine.readyState !== "closed") {
    waits.push(new Promise((resolve) => engine.once("close", resolve)));
  }
  const ws = engine?.transport?.ws;
  if (ws && ws.readyState !== 3) waits.push(new Promise((resolve) => ws.once("close", resolve)));
  socket.disconnect();
  socket.io.engine?.close();
  await within(Promise.all(waits), "socket transport close");
}

// ------------------------------------------------------------------ http

/**
 * Wraps an HttpStack: logs requests, counts PATCH body bytes, fails chosen PATCHes with a
 * network error, holds the PATCHes `holdIf` matches until released or aborted, and drains.
 */
export class TestHttp implements HttpStack {
  readonly log: string[] = [];
  patches = 0;
  patchBytes = 0;
  /** 1-based PATCH numbers to fail with a TypeError before anything is sent. */
  failPatches = new Set<number>();
  #holdIf: ((request: HttpRequest) => boolean) | undefined;
  #holds = 0;
  #holdsAtSet = 0;
  #release = Promise.withResolvers<void>();
  #onHold = new Set<() => void>();
  #pending = new Set<Promise<unknown>>();
  #inner: HttpStack;

  constructor(inner: HttpStack = fetchHttpStack) {
    this.#inner = inner;
  }

  /** PATCHes to hold (before any byte is sent) until release() or their abort. */
  set holdIf(predicate: ((request: HttpRequest) => boolean) | undefined) {
    this.#holdIf = predicate;
    this.#holdsAtSet = this.#holds;
  }

  send(request: HttpRequest): Promise<HttpResponse> {
    this.log.push(`${request.method} ${new URL(request.url).pathname}`);
    const result = this.#send(request);
    this.#pending.add(result);
    result.catch(() => {}).finally(() => this.#pending.delete(result));
    return result;
  }

  async #send(request: HttpRequest): Promise<HttpResponse> {
    if (request.method === "PATCH") {
      const n = ++this.patches;
      if (this.failPatches.has(n)) throw new TypeError(`injected network failure of PATCH ${n}`);
      if (this.#holdIf?.(request)) {
        this.#holds++;
        for (const wake of this.#onHold) wake();
        const aborted = new Promise<void>((resolve) =>
          request.signal?.addEventListener("abort", () => resolve())
        );
        await Promise.race([this.#release.promise, aborted]);
        if (request.signal?.aborted) throw new DOMException("aborted", "AbortError");
      }
      this.patchBytes += (request.body as Blob).size;
    }
    return await this.#inner.send(request);
  }

  /** Resolves once a PATCH matching the latest `holdIf` is being held. */
  async held(): Promise<void> {
    const reached = () => this.#holds > this.#holdsAtSet;
    if (reached()) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    const wake = () => reached() && resolve();
    this.#onHold.add(wake);
    try {
      await within(promise, "a PATCH to be held");
    } finally {
      this.#onHold.delete(wake);
    }
  }

  /** Lets every held PATCH go on. */
  release(): void {
    this.#release.resolve();
    this.#release = Promise.withResolvers<void>();
  }

  count(prefix: string): number {
    return this.log.filter((line) => line.startsWith(prefix)).length;
  }

  /** Waits for every request still in flight (aborted ones settle quickly). */
  async drain(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }
}
