/** The engine's record of one file, its monotonic progress, and the snapshots built from it. */
import { eta, SpeedMeter } from "./speed.ts";
import type { ResumeEntry } from "./resume_store.ts";
import type { PendingUpload } from "./pending.ts";
import type { EngineSnapshot, FileError, FileLike, FileSnapshot, FileStatus } from "./types.ts";

export interface Entry {
  /** Local id (the view's key). */
  readonly id: string;
  /** The server's upload id (`fileId`): the local id unless resumed from the store or recreated. */
  sid: string;
  /** The picked file; null for a file of another device in the same session ("remote"). */
  file: FileLike | null;
  name: string;
  size: number;
  type: string;
  /** Resume fingerprint (empty for remote files). */
  fp: string;
  status: FileStatus;
  /** Monotonic maxima: bytes sent, bytes the server confirmed, shown fraction. */
  sent: number;
  confirmed: number;
  progress: number;
  /** The server's offset of the current upload (not monotonic: what the next PATCH starts at). */
  offset: number;
  url: string | null;
  path: string | null;
  error: FileError | null;
  canRetry: boolean;
  retry: { attempt: number; max: number } | null;
  /** Automatic retries since the last progress. */
  attempts: number;
  /** Uploads recreated (404/410) since the last progress. */
  recreated: number;
  /** The highest server offset seen of the current upload (progress forgives failures). */
  high: number;
  /** Restarts the running request's stall watchdog (null: no request). */
  beat: (() => void) | null;
  meter: SpeedMeter;
  /** The running upload's controller (null: not running). */
  ctl: AbortController | null;
  /** Awaited before the next request (the ack of a resume). */
  gate: Promise<unknown> | null;
  /** Start() or resume() asked for it; a queued file without `go` waits for start(). */
  go: boolean;
  announced: boolean;
  /** Paused by the server (another device, or a 423): a server resume continues it. */
  held: boolean;
  /** A stored upload not yet confirmed by a HEAD in this engine. */
  fromStore: boolean;
  /** A resume entry found when picked, applied once the session is known. */
  stored: ResumeEntry | null;
  /** Listed after a reload: `ready` continues as it is, `file` wants the file picked again. */
  waiting: "ready" | "file" | null;
  /** Its record in the list of unfinished uploads (set when listed after a reload). */
  pending: PendingUpload | null;
  started: boolean;
  lastEvent: number;
  snap: FileSnapshot | null;
}

export function createEntry(
  id: string,
  init: { file: FileLike | null; name: string; size: number; type: string; fp?: string },
): Entry {
  return {
    id,
    sid: id,
    fp: "",
    ...init,
    status: "queued",
    sent: 0,
    confirmed: 0,
    progress: 0,
    offset: 0,
    url: null,
    path: null,
    error: null,
    canRetry: false,
    retry: null,
    attempts: 0,
    recreated: 0,
    high: 0,
    beat: null,
    meter: new SpeedMeter(),
    ctl: null,
    gate: null,
    go: false,
    announced: false,
    held: false,
    fromStore: false,
    stored: null,
    waiting: null,
    pending: null,
    started: false,
    lastEvent: -Infinity,
    snap: null,
  };
}

/**
 * Raises sent/confirmed bytes (never lowers them) and the shown progress with them.
 * Returns whether anything changed (the cached snapshot is dropped then).
 */
export function advance(e: Entry, sent: number, confirmed: number, now: number): boolean {
  const s = Math.min(e.size, Math.max(e.sent, sent, confirmed));
  const c = Math.min(e.size, Math.max(e.confirmed, confirmed));
  if (s === e.sent && c === e.confirmed) return false;
  e.sent = s;
  e.confirmed = c;
  e.progress = Math.max(e.progress, e.size ? s / e.size : 0);
  e.meter.sample(s, now);
  e.snap = null;
  return true;
}

export function toSnapshot(e: Entry): FileSnapshot {
  const uploading = e.status === "uploading";
  const speed = uploading ? Math.round(e.meter.speed) : 0;
  return {
    id: e.id,
    name: e.name,
    size: e.size,
    type: e.type,
    status: e.status,
    bytesSent: e.sent,
    bytesConfirmed: e.confirmed,
    progress: e.progress,
    speed,
    eta: e.status === "completed" ? 0 : uploading ? eta(e.size - e.sent, speed) : null,
    retry: e.retry,
    error: e.error,
    canRetry: e.canRetry,
    uploadUrl: e.url,
    uploadPath: e.path,
    remote: !e.file && !e.waiting,
    ...e.waiting && { waiting: e.waiting },
  };
}

/** Totals over the files that are not cancelled. */
export function totals(files: readonly FileSnapshot[]): EngineSnapshot["totals"] {
  let bytes = 0, done = 0, speed = 0, uploading = false;
  for (const f of files) {
    if (f.status === "cancelled") continue;
    bytes += f.size;
    // A refused file is still expected and will never be stored: its sent bytes are not done,
    // so a session with one never reads 100 % (the server's totalProgress agrees).
    if (f.status === "failed" && !f.canRetry) continue;
    done += f.status === "completed" ? f.size : Math.round(f.progress * f.size);
    speed += f.speed;
    uploading ||= f.status === "uploading";
  }
  return {
    bytes,
    done,
    progress: bytes ? done / bytes : 0,
    speed,
    eta: uploading ? eta(bytes - done, speed) : null,
  };
}
