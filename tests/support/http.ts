/** Plain HTTP helpers: sessions, raw tus requests, a request body fed chunk by chunk. */
import assert from "node:assert/strict";
import type { Category } from "../../protocol/events.ts";
import type { ErrorPayload } from "../../protocol/errors.ts";
import type { CreateSessionResponse, SessionResponse } from "../../protocol/session.ts";
import { metadata } from "../../server/testing/harness.ts";
import type { Scope } from "./scope.ts";

export const TUS = { "Tus-Resumable": "1.0.0" } as const;
export const OCTET = "application/offset+octet-stream";

export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** POST /api/sessions, asserting 201. */
export async function createSession(
  baseUrl: string,
  category: Category = "personal",
): Promise<CreateSessionResponse> {
  const res = await fetch(`${baseUrl}/api/sessions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ category, clientType: "web" }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, `POST /api/sessions: ${JSON.stringify(body)}`);
  return body as CreateSessionResponse;
}

/** GET /api/sessions/:id with the token, asserting 200. */
export async function getSnapshot(
  baseUrl: string,
  session: { sessionId: string; token: string },
): Promise<SessionResponse> {
  const res = await fetch(`${baseUrl}/api/sessions/${session.sessionId}`, {
    headers: bearer(session.token),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `GET /api/sessions/:id: ${JSON.stringify(body)}`);
  return body as SessionResponse;
}

export interface CreatedUpload {
  /** Absolute upload URL (the Location header). */
  location: string;
  /** The upload id (the spec's fileId). */
  id: string;
}

/** tus creation for a session, asserting 201 and an absolute Location. */
export async function createUpload(
  baseUrl: string,
  session: { sessionId: string; token: string },
  file: { size: number; filename?: string; filetype?: string; category?: Category },
): Promise<CreatedUpload> {
  const res = await fetch(`${baseUrl}/api/uploads`, {
    method: "POST",
    headers: {
      ...TUS,
      ...bearer(session.token),
      "Upload-Length": String(file.size),
      "Upload-Metadata": metadata({
        filename: file.filename ?? "photo.jpg",
        filetype: file.filetype ?? "image/jpeg",
        sessionId: session.sessionId,
        category: file.category ?? "personal",
      }),
    },
  });
  const text = await res.text();
  assert.equal(res.status, 201, `tus POST: ${text}`);
  const location = res.headers.get("Location");
  assert.ok(location, "tus POST answered without Location");
  assert.match(location, /^http:\/\//, "Location must be absolute");
  return { location, id: decodeURIComponent(new URL(location).pathname.split("/").pop()!) };
}

/** tus HEAD; `offset` is null when the answer carries no Upload-Offset. */
export async function head(
  location: string,
  token: string | null,
): Promise<{ status: number; offset: number | null; length: number | null; headers: Headers }> {
  const res = await fetch(location, {
    method: "HEAD",
    headers: { ...TUS, ...(token === null ? {} : bearer(token)) },
  });
  await res.body?.cancel();
  const offset = res.headers.get("Upload-Offset");
  const length = res.headers.get("Upload-Length");
  return {
    status: res.status,
    offset: offset === null ? null : Number(offset),
    length: length === null ? null : Number(length),
    headers: res.headers,
  };
}

/** HEAD that must succeed: the committed offset. */
export async function offsetOf(location: string, token: string | null): Promise<number> {
  const answer = await head(location, token);
  assert.equal(answer.status, 200, `HEAD ${location}`);
  assert.notEqual(answer.offset, null, "HEAD without Upload-Offset");
  return answer.offset!;
}

export interface PatchAnswer {
  status: number;
  offset: number | null;
  headers: Headers;
  /** The JSON error body, when there is one. */
  error: ErrorPayload | null;
}

/** tus PATCH at `offset`; a Uint8Array body is sent with Content-Length, a stream chunked. */
export async function patch(
  location: string,
  token: string | null,
  offset: number,
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
  init: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<PatchAnswer> {
  const request: RequestInit = {
    method: "PATCH",
    headers: {
      ...TUS,
      ...(token === null ? {} : bearer(token)),
      "Content-Type": OCTET,
      "Upload-Offset": String(offset),
      ...init.headers,
    },
    body,
  };
  if (init.signal) request.signal = init.signal;
  const res = await fetch(location, request);
  return await readAnswer(res);
}

export async function readAnswer(res: Response): Promise<PatchAnswer> {
  const text = await res.text();
  let error: ErrorPayload | null = null;
  if (text) {
    try {
      error = (JSON.parse(text) as { error?: ErrorPayload }).error ?? null;
    } catch {
      error = null;
    }
  }
  const offset = res.headers.get("Upload-Offset");
  return {
    status: res.status,
    offset: offset === null ? null : Number(offset),
    headers: res.headers,
    error,
  };
}

/**
 * A request body the test feeds by hand: bytes flow only when the test pushes them. The
 * stream may be cancelled by the other side (the server answered early, the request was
 * aborted); pushes after that are dropped and `cancelled` turns true.
 */
export class FedBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes handed to the stream so far. */
  pushed = 0;
  cancelled = false;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.cancelled = true;
      },
    });
  }

  push(bytes: Uint8Array): void {
    if (this.cancelled || this.#closed) return;
    try {
      // A copy: the consumer may hold on to (or transfer) what it was given.
      this.#controller.enqueue(bytes.slice());
      this.pushed += bytes.byteLength;
    } catch {
      this.cancelled = true;
    }
  }

  close(): void {
    if (this.cancelled || this.#closed) return;
    this.#closed = true;
    try {
      this.#controller.close();
    } catch {
      // Already errored or cancelled by the consumer.
    }
  }

  /** Ends the body with an error (the request is then torn down mid-body). */
  fail(reason: unknown): void {
    if (this.cancelled || this.#closed) return;
    this.#closed = true;
    try {
      this.#controller.error(reason);
    } catch {
      // Already closed.
    }
  }
}

export interface StreamedPatch {
  body: FedBody;
  /** The answer; rejects when the connection was closed or the request aborted. */
  answer: Promise<PatchAnswer>;
  /** Aborts the request mid-body (the client going away). */
  abort(reason?: unknown): void;
  /** True once the request settled (answered or failed). */
  readonly settled: boolean;
}

/**
 * A PATCH whose body the test feeds through `body`. A request still open when the scope
 * closes is aborted first, so a failed test never leaves the server waiting for a body.
 */
export function streamPatch(
  scope: Scope,
  location: string,
  token: string | null,
  offset: number,
): StreamedPatch {
  const body = new FedBody();
  const controller = new AbortController();
  let settled = false;
  const answer = patch(location, token, offset, body.stream, { signal: controller.signal });
  const done = answer.then(() => {}, () => {}).finally(() => settled = true);
  scope.defer("end a streamed PATCH", async () => {
    if (!settled) controller.abort(new Error("the test ended"));
    await done;
    body.close();
  });
  return {
    body,
    answer,
    abort: (reason) => controller.abort(reason),
    get settled() {
      return settled;
    },
  };
}

/** Does `path` exist? */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Every file and folder under `root`, as paths relative to it, sorted. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      out.push(entry.isDirectory ? `${rel}/` : rel);
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, rel);
    }
  };
  await walk(root, "");
  return out.sort();
}
