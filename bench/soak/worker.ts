/**
 * One soak session worker: a phone that keeps uploading. It opens a session with ~10 watcher
 * sockets, uploads files one after the other in paced chunks (most complete; some are paused
 * and resumed, cancelled, interrupted and resumed, refused by content, or deleted after
 * completion), then moves to a new session; some sessions are abandoned half-way so they
 * expire and are deleted. Every answer is checked against what that path must get.
 */
import { io, type Socket } from "socket.io-client";
import type { SoakStats } from "./stats.ts";

export interface SoakPlan {
  sessions: number;
  watchersPerSession: number;
  filesPerSession: number;
  chunkBytes: number;
  chunkIntervalMs: number;
  minFileBytes: number;
  maxFileBytes: number;
  /** Share of sessions left with a half-uploaded file (they expire, then are deleted). */
  abandonShare: number;
}

export interface WorkerContext {
  /** The server over 127.0.0.1 and [::1]: two addresses for the per-address session limit. */
  bases: string[];
  stats: SoakStats;
  plan: SoakPlan;
  /** Once true, no new file or session starts. */
  stopping(): boolean;
  sockets: { open: number; peak: number };
  /** JPEG head then random bytes, maxFileBytes long: every file is a prefix of it. */
  source: Uint8Array<ArrayBuffer>;
}

interface Session {
  base: string;
  sessionId: string;
  token: string;
}

const TUS = { "Tus-Resumable": "1.0.0" };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Path = "complete" | "terminate" | "pause" | "cancel" | "interrupt" | "refused";
const PATHS: [Path, number][] = [
  ["complete", 0.55],
  ["terminate", 0.1],
  ["pause", 0.1],
  ["cancel", 0.08],
  ["interrupt", 0.1],
  ["refused", 0.07],
];

function pickPath(): Path {
  let r = Math.random();
  for (const [path, weight] of PATHS) if ((r -= weight) < 0) return path;
  return "complete";
}

export async function runWorker(ctx: WorkerContext, index: number): Promise<void> {
  // The first session is cut short at random so sessions end (and new ones start) spread
  // over time from the first minute on, not all together when the first 20 files are done.
  let files = 1 + Math.floor(Math.random() * ctx.plan.filesPerSession);
  while (!ctx.stopping()) {
    const session = await createSession(ctx, index);
    if (!session) return;
    const watchers = (await Promise.all(
      Array.from({ length: ctx.plan.watchersPerSession }, () => connectWatcher(ctx, session)),
    )).filter((s): s is Socket => s !== null);
    try {
      for (let i = 0; i < files && !ctx.stopping(); i++) {
        await oneFile(ctx, session, watchers[0] ?? null, pickPath());
      }
      if (!ctx.stopping() && Math.random() < ctx.plan.abandonShare) {
        const location = await create(ctx, session, ctx.plan.maxFileBytes);
        if (location) await patchOk(ctx, session, location, 0, ctx.plan.chunkBytes);
        ctx.stats.count("sessions abandoned mid-file (expire, then deleted)");
      } else {
        ctx.stats.count("sessions finished");
      }
    } finally {
      for (const socket of watchers) socket.close();
    }
    files = ctx.plan.filesPerSession;
  }
}

// ---------------------------------------------------------------------------------------
// sessions and sockets

async function createSession(ctx: WorkerContext, index: number): Promise<Session | null> {
  for (let attempt = 0; !ctx.stopping(); attempt++) {
    const base = ctx.bases[(index + attempt) % ctx.bases.length]!;
    const res = await fetch(`${base}/api/sessions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ category: "scenic", clientType: "web" }),
    }).catch((error) => error as Error);
    if (res instanceof Error) {
      ctx.stats.error(`POST /api/sessions: ${res.message}`);
      await sleep(1000);
      continue;
    }
    if (res.status === 429) {
      // The per-address limit (60 a minute) is the server doing its job, not an error.
      await res.body?.cancel();
      ctx.stats.count("session creations rate-limited (429, retried)");
      await sleep(1000 + Math.random() * 1000);
      continue;
    }
    if (res.status !== 201) {
      ctx.stats.error(`POST /api/sessions answered ${res.status}: ${await res.text()}`);
      await sleep(1000);
      continue;
    }
    const body = await res.json() as { sessionId: string; token: string };
    ctx.stats.count("sessions created");
    return { base, sessionId: body.sessionId, token: body.token };
  }
  return null;
}

function connectWatcher(ctx: WorkerContext, session: Session): Promise<Socket | null> {
  const socket = io(session.base, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
    auth: { token: session.token },
    query: { sessionId: session.sessionId, clientType: "web" },
  });
  socket.onAny(() => ctx.stats.count("events heard by watchers"));
  socket.on("error" as never, (payload: unknown) => {
    ctx.stats.error(`socket error event: ${JSON.stringify(payload)}`);
  });
  return new Promise((resolve) => {
    socket.once("connect", () => {
      ctx.sockets.open++;
      ctx.sockets.peak = Math.max(ctx.sockets.peak, ctx.sockets.open);
      socket.on("disconnect", (reason) => {
        ctx.sockets.open--;
        if (reason !== "io client disconnect") ctx.stats.error(`socket dropped: ${reason}`);
      });
      resolve(socket);
    });
    socket.once("connect_error", (error) => {
      ctx.stats.error(`socket connect: ${error.message}`);
      socket.close();
      resolve(null);
    });
  });
}

async function command(
  ctx: WorkerContext,
  socket: Socket | null,
  event: "upload-pause" | "upload-resume" | "upload-cancel",
  payload: { sessionId: string; fileId: string },
): Promise<boolean> {
  if (!socket) return false;
  const ack = await new Promise<{ ok: boolean; error?: unknown }>((resolve) => {
    socket.timeout(30_000).emit(event, payload, (err: unknown, reply: { ok: boolean }) => {
      resolve(err ? { ok: false, error: String(err) } : reply);
    });
  });
  if (!ack.ok) ctx.stats.error(`${event} refused: ${JSON.stringify(ack)}`);
  return ack.ok;
}

// ---------------------------------------------------------------------------------------
// files

async function oneFile(
  ctx: WorkerContext,
  s: Session,
  socket: Socket | null,
  path: Path,
): Promise<void> {
  const { chunkBytes, minFileBytes, maxFileBytes } = ctx.plan;
  const size = minFileBytes + Math.floor(Math.random() * (maxFileBytes - minFileBytes));
  const location = await create(ctx, s, size);
  if (!location) return;
  const fileId = new URL(location).pathname.split("/").pop()!;
  if (path === "refused") {
    const answer = await patchOnce(s, location, 0, new Uint8Array(chunkBytes));
    expect(ctx, answer, 415, "FILE_TYPE_NOT_ALLOWED", "files refused by content (415)");
    return;
  }
  if (path === "interrupt") {
    await interruptedPatch(ctx, s, location);
    const offset = await headOffset(ctx, s, location);
    if (offset !== null && await send(ctx, s, location, offset, size)) {
      ctx.stats.count("files interrupted, resumed from HEAD, completed");
    }
    return;
  }
  if (!(await patchOk(ctx, s, location, 0, Math.min(chunkBytes, size)))) return;
  const first = Math.min(chunkBytes, size);
  if (path === "cancel") {
    if (Math.random() < 0.5) {
      if (await command(ctx, socket, "upload-cancel", { sessionId: s.sessionId, fileId })) {
        ctx.stats.count("files cancelled (socket upload-cancel)");
      }
    } else {
      const res = await fetch(location, { method: "DELETE", headers: auth(s) });
      await res.body?.cancel();
      if (res.status === 204) ctx.stats.count("files cancelled (tus DELETE)");
      else ctx.stats.error(`DELETE of an unfinished upload answered ${res.status}`);
    }
    const after = await patchOnce(s, location, first, ctx.source.subarray(first, first + 1));
    expect(ctx, after, 410, "UPLOAD_CANCELLED", "PATCH after cancel refused (410)");
    return;
  }
  if (path === "pause" && first < size) {
    await command(ctx, socket, "upload-pause", { sessionId: s.sessionId, fileId });
    const paused = await patchOnce(s, location, first, ctx.source.subarray(first, first + 1));
    expect(ctx, paused, 423, "UPLOAD_PAUSED", "PATCH while paused refused (423)");
    await command(ctx, socket, "upload-resume", { sessionId: s.sessionId, fileId });
  }
  if (!(await send(ctx, s, location, first, size))) return;
  ctx.stats.count(path === "pause" ? "files paused, resumed, completed" : "files completed");
  if (path === "terminate") {
    const res = await fetch(location, { method: "DELETE", headers: auth(s) });
    await res.body?.cancel();
    if (res.status === 204) ctx.stats.count("finished files deleted (tus DELETE)");
    else ctx.stats.error(`DELETE of a finished upload answered ${res.status}`);
  }
}

function auth(s: Session): Record<string, string> {
  return { ...TUS, Authorization: `Bearer ${s.token}` };
}

async function create(ctx: WorkerContext, s: Session, size: number): Promise<string | null> {
  const meta = {
    filename: "photo.jpg",
    filetype: "image/jpeg",
    sessionId: s.sessionId,
    category: "scenic",
  };
  const res = await fetch(`${s.base}/api/uploads`, {
    method: "POST",
    headers: {
      ...auth(s),
      "Upload-Length": String(size),
      "Upload-Metadata": Object.entries(meta).map(([k, v]) => `${k} ${btoa(v)}`).join(","),
    },
  }).catch((error) => error as Error);
  if (res instanceof Error) {
    ctx.stats.error(`tus POST: ${res.message}`);
    return null;
  }
  await res.body?.cancel();
  const location = res.headers.get("Location");
  if (res.status !== 201 || !location) {
    ctx.stats.error(`tus POST answered ${res.status}`);
    return null;
  }
  ctx.stats.count("uploads created");
  return location;
}

interface Answer {
  status: number;
  offset: number | null;
  code: string | null;
}

async function patchOnce(
  s: Session,
  location: string,
  offset: number,
  body: Uint8Array<ArrayBuffer>,
): Promise<Answer> {
  try {
    const res = await fetch(location, {
      method: "PATCH",
      headers: {
        ...auth(s),
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": String(offset),
      },
      body,
    });
    const text = await res.text();
    let code: string | null = null;
    try {
      code = text ? (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null : null;
    } catch { /* not JSON */ }
    const header = res.headers.get("Upload-Offset");
    return { status: res.status, offset: header === null ? null : Number(header), code };
  } catch (error) {
    return { status: 0, offset: null, code: String(error) };
  }
}

function expect(ctx: WorkerContext, a: Answer, status: number, code: string, what: string): void {
  if (a.status === status && a.code === code) ctx.stats.count(what);
  else ctx.stats.error(`${what}: got ${a.status} ${a.code}`);
}

/** One chunk at `offset`; true when it was stored. */
async function patchOk(
  ctx: WorkerContext,
  s: Session,
  location: string,
  offset: number,
  end: number,
): Promise<boolean> {
  const answer = await patchOnce(s, location, offset, ctx.source.subarray(offset, end));
  ctx.stats.count("PATCH requests");
  if (answer.status === 204) return true;
  ctx.stats.error(`PATCH answered ${answer.status} ${answer.code}`);
  return false;
}

/** Paced chunks from `offset` to `size`, as a tus client resumes them; true when complete. */
async function send(
  ctx: WorkerContext,
  s: Session,
  location: string,
  offset: number,
  size: number,
): Promise<boolean> {
  const { chunkBytes, chunkIntervalMs } = ctx.plan;
  while (offset < size) {
    await sleep(chunkIntervalMs * (0.5 + Math.random()));
    const end = Math.min(size, offset + chunkBytes);
    const a = await patchOnce(s, location, offset, ctx.source.subarray(offset, end));
    ctx.stats.count("PATCH requests");
    if (a.status === 204 && a.offset !== null) {
      offset = a.offset;
    } else if (a.status === 409 && a.code === "OFFSET_MISMATCH" && a.offset !== null) {
      // After an interruption the server may commit the old request's bytes after our HEAD.
      ctx.stats.count("offset resyncs after interruption (409)");
      offset = a.offset;
    } else if (a.status === 423 && a.code === "UPLOAD_LOCKED") {
      ctx.stats.count("PATCH took over a stale request (423, retried)");
      await sleep(200);
    } else {
      ctx.stats.error(`PATCH at ${offset} answered ${a.status} ${a.code}`);
      return false;
    }
  }
  return true;
}

/** A PATCH whose client goes away after one chunk (a phone losing its network). */
async function interruptedPatch(ctx: WorkerContext, s: Session, location: string): Promise<void> {
  const controller = new AbortController();
  const chunk = ctx.source.slice(0, ctx.plan.chunkBytes);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(chunk);
    },
  });
  const request = fetch(location, {
    method: "PATCH",
    headers: {
      ...auth(s),
      "Content-Type": "application/offset+octet-stream",
      "Upload-Offset": "0",
    },
    body,
    signal: controller.signal,
  }).then((res) => res.body?.cancel(), () => {});
  // Past the server's 250 ms checkpoint, so some bytes are committed before the cut.
  await sleep(400);
  controller.abort();
  await request;
  ctx.stats.count("PATCH requests cut mid-body");
}

async function headOffset(
  ctx: WorkerContext,
  s: Session,
  location: string,
): Promise<number | null> {
  const res = await fetch(location, { method: "HEAD", headers: auth(s) });
  await res.body?.cancel();
  const offset = res.headers.get("Upload-Offset");
  if (res.status !== 200 || offset === null) {
    ctx.stats.error(`HEAD after interruption answered ${res.status}`);
    return null;
  }
  return Number(offset);
}
