/**
 * Fakes for the engine's unit tests (not shipped): a clock whose timers run when told, an
 * in-memory tus + sessions server as an HttpStack, and a socket the test drives.
 */
import type { HttpRequest, HttpResponse, HttpStack, RealtimeSocket } from "./types.ts";

// ------------------------------------------------------------------ clock

export class FakeClock {
  time = 0;
  /** Every delay ever asked for, in order. */
  readonly delays: number[] = [];
  #timers = new Map<number, { at: number; fn: () => void }>();
  #id = 0;

  now = (): number => this.time;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.#id;
    this.#timers.set(id, { at: this.time + ms, fn });
    this.delays.push(ms);
    return id;
  };

  clearTimeout = (id: unknown): void => {
    this.#timers.delete(id as number);
  };

  /** Delays of the timers still pending (relative to now). */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time on by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}

// ------------------------------------------------------------------ server

export const BASE = "http://uploads.test";

export interface FakeUpload {
  id: string;
  length: number;
  offset: number;
  metadata: Record<string, string>;
  status: "uploading" | "paused" | "completed" | "cancelled" | "failed";
  path: string | null;
}

export function response(
  status: number,
  headers: Record<string, string> = {},
  body?: unknown,
): HttpResponse {
  return {
    status,
    header: (name) => headers[name] ?? null,
    text: body === undefined ? "" : JSON.stringify(body),
  };
}

export const errorResponse = (status: number, code: string, headers = {}) =>
  response(status, headers, { error: { code, message: `${code} (fake)` } });

/**
 * tus 1.0.0 and the sessions API in memory. `intercept` may answer (or throw for) a request
 * instead; `hold` keeps PATCHes pending until their signal aborts or `release()`.
 */
export class FakeServer implements HttpStack {
  readonly log: string[] = [];
  readonly uploads = new Map<string, FakeUpload>();
  sessionId = crypto.randomUUID();
  token = "fake-token";
  limits = { maxFileSize: 10_000_000, maxFiles: 5, allowedTypes: ["image/*", "video/*"] };
  /** The other category's limits in `GET /api/categories`. */
  scenic = { maxFileSize: 1000, maxFiles: 1, allowedTypes: ["image/jpeg"] };
  /** Sent in the session snapshot when set (a server that tells a session's own limits). */
  snapshotLimits: typeof this.limits | null = null;
  intercept: ((request: HttpRequest) => HttpResponse | undefined) | undefined;
  /** Calls onUploadProgress with these fractions of each PATCH body before answering. */
  progressSteps: number[] = [];
  onProgressStep: (() => void) | undefined;
  hold = false;
  #release = Promise.withResolvers<void>();
  /** Abort signals of the requests seen, by "METHOD path". */
  readonly signals: { what: string; signal: AbortSignal | undefined }[] = [];

  release(): void {
    this.hold = false;
    this.#release.resolve();
    this.#release = Promise.withResolvers<void>();
  }

  async send(r: HttpRequest): Promise<HttpResponse> {
    await Promise.resolve();
    const path = new URL(r.url).pathname;
    const what = `${r.method} ${path}`;
    this.log.push(what);
    this.signals.push({ what, signal: r.signal });
    const aborted = () => new DOMException("aborted", "AbortError");
    if (r.signal?.aborted) throw aborted();
    const answer = this.intercept?.(r);
    if (answer) return answer;
    if (r.method === "PATCH" && this.hold) {
      const abort = new Promise<void>((resolve) =>
        r.signal?.addEventListener("abort", () => resolve())
      );
      await Promise.race([this.#release.promise, abort]);
      if (r.signal?.aborted) throw aborted();
    }
    if (path === "/api/sessions" && r.method === "POST") {
      return response(201, {}, {
        sessionId: this.sessionId,
        token: this.token,
        expiresAt: new Date(0).toISOString(),
        limits: this.limits,
        uploadUrl: `${BASE}/api/uploads`,
      });
    }
    if (path === "/api/categories" && r.method === "GET") {
      return response(200, {}, { categories: { personal: this.limits, scenic: this.scenic } });
    }
    const command = /^\/api\/sessions\/[^/]+\/files\/([^/]+)\/(pause|resume|cancel)$/.exec(path);
    if (command && r.method === "POST") {
      const [, id, action] = command;
      const target = this.uploads.get(decodeURIComponent(id!));
      if (!target) return errorResponse(404, "FILE_NOT_FOUND");
      target.status = action === "pause"
        ? "paused"
        : action === "resume"
        ? "uploading"
        : "cancelled";
      return response(200, {}, { ok: true, data: this.snapshot() });
    }
    if (path.startsWith("/api/sessions/") && r.method === "GET") {
      return response(200, {}, this.snapshot());
    }
    if (path === "/api/uploads" && r.method === "POST") {
      const metadata = Object.fromEntries(
        (r.headers["Upload-Metadata"] ?? "").split(",").map((pair) => {
          const [k, v] = pair.split(" ");
          return [
            k,
            new TextDecoder().decode(Uint8Array.from(atob(v ?? ""), (c) => c.charCodeAt(0))),
          ];
        }),
      );
      const id = metadata.fileId ?? crypto.randomUUID();
      if (this.uploads.has(id)) return errorResponse(400, "INVALID_REQUEST");
      this.uploads.set(id, {
        id,
        length: Number(r.headers["Upload-Length"]),
        offset: 0,
        metadata,
        status: "uploading",
        path: null,
      });
      return response(201, { Location: `/api/uploads/${id}` });
    }
    const upload = this.uploads.get(path.split("/").pop()!);
    if (!upload) return errorResponse(404, "FILE_NOT_FOUND");
    if (upload.status === "cancelled") return errorResponse(410, "UPLOAD_CANCELLED");
    const offset = { "Upload-Offset": String(upload.offset) };
    if (r.method === "HEAD") return response(200, offset);
    if (r.method === "DELETE") {
      upload.status = "cancelled";
      return response(204);
    }
    if (r.method === "PATCH") {
      if (upload.status === "paused") return errorResponse(423, "UPLOAD_PAUSED", offset);
      if (Number(r.headers["Upload-Offset"]) !== upload.offset) {
        return errorResponse(409, "OFFSET_MISMATCH", offset);
      }
      const size = (r.body as Blob).size;
      for (const step of this.progressSteps) {
        r.onUploadProgress?.(Math.floor(size * step));
        this.onProgressStep?.();
      }
      upload.offset += size;
      if (upload.offset === upload.length) {
        upload.status = "completed";
        upload.path = `personal/2024/01/01/${upload.id}.jpg`;
      }
      return response(204, { "Upload-Offset": String(upload.offset) });
    }
    return errorResponse(405, "METHOD_NOT_ALLOWED");
  }

  snapshot() {
    const files = [...this.uploads.values()].map((u) => ({
      id: u.id,
      originalName: u.metadata.filename ?? "",
      progress: Math.floor((u.offset / u.length) * 100),
      status: u.status,
      uploadedBytes: u.offset,
      totalBytes: u.length,
      ...(u.path ? { uploadPath: u.path } : {}),
    }));
    const done = files.length > 0 && files.every((f) => f.status === "completed");
    return {
      sessionId: this.sessionId,
      overallStatus: done ? "completed" : "uploading",
      totalProgress: 0,
      completedFiles: files.filter((f) => f.status === "completed").length,
      failedFiles: 0,
      message: "",
      timestamp: new Date(0).toISOString(),
      files,
      ...(this.snapshotLimits ? { limits: this.snapshotLimits } : {}),
    };
  }

  count(prefix: string): number {
    return this.log.filter((line) => line.startsWith(prefix)).length;
  }
}

// ------------------------------------------------------------------ socket

type Handler = (...args: unknown[]) => void;

/** A socket.io-client look-alike: the test connects it and plays the server's events. */
export class FakeSocket implements RealtimeSocket {
  connected = false;
  active = true;
  disconnected = false;
  reconnection = true;
  readonly sent: { name: string; payload: unknown }[] = [];
  /** The ack reply to a command (undefined: no ack, the command times out). */
  reply: ((name: string, payload: unknown) => unknown) | undefined = () => ({ ok: true, data: {} });
  #on = new Map<string, Set<Handler>>();
  #ioOn = new Map<string, Set<Handler>>();

  readonly io = {
    on: (event: string, listener: Handler) => add(this.#ioOn, event, listener),
    reconnection: (value?: boolean) =>
      value === undefined ? this.reconnection : (this.reconnection = value),
  };
  /** connect() calls; while `refuse`, each ends in connect_error (a blocked WebSocket). */
  connects = 0;
  refuse = false;

  on(event: string, listener: Handler): void {
    add(this.#on, event, listener);
  }

  emit(name: string, ...args: unknown[]): void {
    const [payload, ack] = args;
    this.sent.push({ name, payload });
    const answer = this.reply?.(name, payload);
    if (typeof ack === "function" && answer !== undefined) queueMicrotask(() => ack(answer));
  }

  disconnect(): void {
    this.connected = false;
    this.disconnected = true;
  }

  // What the server and the transport do:
  connect(): void {
    this.connects++;
    if (this.refuse) return void this.fire("connect_error", new Error("refused"));
    this.connected = true;
    this.fire("connect");
  }
  drop(reason = "transport close"): void {
    this.connected = false;
    this.fire("disconnect", reason);
  }
  fire(event: string, ...args: unknown[]): void {
    for (const listener of this.#on.get(event) ?? []) listener(...args);
  }
  fireIo(event: string, ...args: unknown[]): void {
    for (const listener of this.#ioOn.get(event) ?? []) listener(...args);
  }
}

function add(map: Map<string, Set<Handler>>, event: string, listener: Handler): void {
  map.set(event, (map.get(event) ?? new Set()).add(listener));
}
