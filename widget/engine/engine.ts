/**
 * The widget's DOM-free engine: a queue of files uploaded over tus with retries and resume,
 * kept in step with the session room (socket or polling), exposed as immutable snapshots.
 */
import { endStatus, type FileProgress, type ProgressUpdateEvent } from "../../protocol/events.ts";
import type { CategoryLimits } from "../../protocol/session.ts";
import { ACTIVE, ENDED, LIVE, RESUMABLE, SETTLED } from "../../protocol/status.ts";
import { REFUSED } from "../i18n/errors.ts";
import { check } from "./checks.ts";
import { advance, createEntry, type Entry, toSnapshot, totals } from "./file_state.ts";
import { Realtime } from "./realtime.ts";
import { asFile, headHash, PendingList, type PendingUpload, sameFile } from "./pending.ts";
import { fingerprint, ResumeStore } from "./resume_store.ts";
import { backoff, manuallyRetryable, transient, verdict } from "./retry.ts";
import { createSession, getLimits, getSnapshot } from "./session_api.ts";
import { stall } from "./stall.ts";
import { httpCommands } from "./http_commands.ts";
import { HttpError, TusClient } from "./tus_client.ts";
import type {
  ConnectionState,
  EngineEvents,
  EngineOptions,
  EngineSnapshot,
  FileError,
  FileLike,
  FileSnapshot,
  FileStatus,
  Rejection,
} from "./types.ts";

/** How long start() waits for the socket before uploading without it. */
const CONNECT_WAIT_MS = 3000;
const PROGRESS_EVENT_MS = 250;
const NOTIFY_MS = 50;
const STALL_MS = 20_000;
const PERSIST_MAX = 32 * 1024 * 1024;

const live = (s: FileStatus) => LIVE.has(s);
const ended = (s: FileStatus) => ENDED.has(s);

interface Session {
  id: string;
  token: string;
  /** The tus creation URL. */
  tus: string;
}

type Listener = (detail: never) => void;

/** The fields of the room events the engine reads (each event has some of them). */
interface RoomPayload extends Partial<ProgressUpdateEvent> {
  fileId: string;
  fileName: string;
  fileSize: number;
  uploadPath: string;
  uploadedBytes: number;
  error: FileError;
  canRetry: boolean;
  maxRetries: number;
  affectedFiles: string[];
}

export class UploadEngine {
  #o: EngineOptions;
  #endpoint: string;
  #now: () => number;
  #setTimeout: (fn: () => void, ms: number) => unknown;
  #clearTimeout: (handle: unknown) => void;
  #entries = new Map<string, Entry>();
  #listeners = new Set<(s: EngineSnapshot) => void>();
  #handlers = new Map<string, Set<Listener>>();
  #snap: EngineSnapshot | null = null;
  #session: Session | null = null;
  #limits: CategoryLimits | null = null;
  /** Settles (never rejects) once the limits are read or could not be. */
  #limitsRead: Promise<void>;
  #tus: TusClient | null = null;
  #rt: Realtime | null = null;
  #connection: ConnectionState = "idle";
  #resume: ResumeStore;
  /** Unfinished uploads listed after a reload (issue #8, 3); read once, before the boot. */
  #pending: PendingList;
  #restored: Promise<void>;
  /** Aborts the requests that belong to no file (session, polls, DELETE) on destroy(). */
  #life = new AbortController();
  #booting: Promise<boolean> | null = null;
  #announcing: Promise<unknown> | null = null;
  #closed = false;
  #notify: "microtask" | "timer" | null = null;
  #notifyTimer: unknown;
  #notifiedAt = -Infinity;
  #completeFired = false;
  /** The server said the session completed (socket or poll) since the last addFiles. */
  #serverDone = false;
  /** The server's retry budget (`maxRetries` of `upload-failed`), once heard. */
  #serverMax: number | null = null;
  /** Backoff waits in progress: each ends now when called (the network came back). */
  #sleepers = new Set<() => void>();
  #unwake: () => void;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#endpoint = options.endpoint.replace(/\/+$/, "");
    this.#now = options.now ?? (() => Date.now());
    this.#setTimeout = options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimeout = options.clearTimeout ??
      ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.#resume = new ResumeStore(options.store, this.#endpoint);
    this.#pending = new PendingList(options.store, this.#endpoint, options.blobs);
    if (options.sessionId && options.token) this.#useSession(options.sessionId, options.token);
    // Limits before the first byte (issue #8, 4): a file over them is refused when picked.
    this.#limitsRead = getLimits(
      options.http,
      this.#endpoint,
      options.category,
      this.#session,
      this.#life.signal,
    ).then((limits) => {
      this.#limits ??= limits;
      this.#changed();
    }, () => {}); // unknown: the server still checks every upload
    this.#unwake = options.wake?.(this.#wake) ?? (() => {});
    this.#restored = this.#restore().catch(() => {});
  }

  // ------------------------------------------------------------------ public API

  get snapshot(): EngineSnapshot {
    return this.#snap ??= this.#build();
  }

  subscribe(listener: (s: EngineSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  on<K extends keyof EngineEvents>(
    name: K,
    listener: (detail: EngineEvents[K]) => void,
  ): () => void {
    const set = this.#handlers.get(name) ?? new Set();
    this.#handlers.set(name, set.add(listener as Listener));
    return () => set.delete(listener as Listener);
  }

  addFiles(files: Iterable<FileLike>): { added: FileSnapshot[]; rejected: Rejection[] } {
    const added: FileSnapshot[] = [];
    const rejected: Rejection[] = [];
    for (const file of files) {
      if (this.#closed) break;
      const count = this.#all().filter((e) => e.status !== "cancelled").length;
      const refused = check(file, { ...this.#o, limits: this.#limits, count });
      if (refused) {
        rejected.push(refused);
        continue;
      }
      const fp = fingerprint(file);
      const e = createEntry(crypto.randomUUID(), {
        file,
        name: file.name,
        size: file.size,
        type: file.type,
        fp,
      });
      e.stored = this.#resume.get(fp, this.#session?.id);
      this.#entries.set(e.id, e);
      if (this.#session) this.#adopt(e);
      added.push(this.#fileSnap(e));
    }
    if (added.length) {
      this.#serverDone = this.#completeFired = false;
      this.#changed();
      if (this.#o.autoStart) void this.start();
    }
    return { added, rejected };
  }

  async start(): Promise<void> {
    for (const e of this.#all()) if (e.file && e.status === "queued") e.go = true;
    await this.#kick();
  }

  pause(id?: string): void {
    for (const e of this.#targets(id)) {
      if (!live(e.status)) continue;
      this.#halt(e);
      e.held = false;
      this.#setStatus(e, "paused");
      if (e.url || !e.file) this.#command("upload-pause", e);
    }
  }

  resume(id?: string): void {
    for (const e of this.#targets(id)) {
      if (e.status !== "paused") continue;
      if (e.waiting) {
        // Listed after a reload: nothing to tell the server, the upload goes on from a HEAD.
        if (e.file) this.#go(e);
        continue;
      }
      const ack = e.url || !e.file ? this.#command("upload-resume", e) : null;
      if (e.file) {
        this.#queue(e);
        e.gate = ack;
      }
    }
  }

  cancel(id?: string): void {
    for (const e of this.#targets(id)) {
      if (ended(e.status)) continue;
      const url = (e.file || e.waiting) && e.url;
      if (url || !e.file) this.#command("upload-cancel", e);
      this.#cancelled(e);
      if (url) this.#tus?.terminate(url, this.#life.signal).catch(() => {});
    }
  }

  retry(id: string): void {
    const e = this.#entries.get(id);
    if (!e?.file || e.status !== "failed" || !e.canRetry) return;
    if (e.error && !transient(e.error.code)) this.#renew(e); // refused for good: a new upload
    e.attempts = 0;
    e.retry = null;
    this.#queue(e);
  }

  remove(id: string): void {
    const e = this.#entries.get(id);
    if (!e || !(SETTLED.has(e.status) || (e.status === "queued" && !e.ctl))) {
      return;
    }
    this.#entries.delete(id);
    this.#changed();
    this.#checkComplete();
  }

  /**
   * Continues an upload listed after a reload with the file picked again: refused (false)
   * unless its name, size, date and first bytes are those of the file it started with.
   */
  async continueWith(id: string, file: FileLike): Promise<boolean> {
    const e = this.#entries.get(id);
    if (!e?.waiting || e.file || !e.pending || !(await sameFile(e.pending, file))) return false;
    if (e.file || !this.#entries.has(id)) return false; // picked twice meanwhile, or cancelled
    e.file = file;
    e.fp = fingerprint(file);
    this.#go(e);
    return true;
  }

  file(id: string): FileLike | undefined {
    return this.#entries.get(id)?.file ?? undefined;
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwake();
    for (const e of this.#entries.values()) this.#halt(e);
    this.#life.abort();
    this.#rt?.close();
    this.#clearTimeout(this.#notifyTimer);
    this.#listeners.clear();
    this.#handlers.clear();
  }

  // ------------------------------------------------------------------ session

  #useSession(id: string, token: string, tus = `${this.#endpoint}/api/uploads`): void {
    this.#session = { id, token, tus };
    this.#tus = new TusClient(this.#o.http, token);
    this.#changed();
  }

  /** Session (given, stored or new), socket, then the queue. Resolves false on failure. */
  #boot(): Promise<boolean> {
    return this.#booting ??= (async () => {
      const o = this.#o;
      const signal = this.#life.signal;
      await this.#limitsRead;
      await this.#restored;
      this.#recheck();
      if (!this.#session) {
        // After a reload: a stored session whose token still works (HEAD 200) continues.
        const tried = new Set<string>();
        for (const { stored } of this.#entries.values()) {
          if (!stored || tried.has(stored.sessionId) || this.#session) continue;
          tried.add(stored.sessionId);
          try {
            await new TusClient(o.http, stored.token).head(stored.uploadUrl, signal);
            this.#useSession(stored.sessionId, stored.token);
          } catch {
            // gone or refused: try the next one, or create a session
          }
        }
        if (!this.#session) {
          const created = await createSession(o.http, this.#endpoint, {
            category: o.category,
            clientType: o.clientType,
          }, signal);
          this.#limits = created.limits;
          this.#useSession(created.sessionId, created.token, created.uploadUrl);
        }
      }
      if (this.#closed) return false;
      for (const e of this.#entries.values()) this.#adopt(e);
      const session = this.#session!;
      this.#rt = new Realtime({
        connect: o.connectSocket,
        url: this.#endpoint,
        sessionId: session.id,
        token: session.token,
        clientType: o.clientType,
        pollIntervalMs: o.pollIntervalMs ?? 2000,
        fallback: httpCommands(o.http, this.#endpoint, session.token, this.#life.signal),
        sync: () => this.snapshot.complete ? Promise.resolve() : this.#sync(),
        onEvent: (name, payload) => this.#onEvent(name, payload as never),
        onState: (state) => {
          this.#connection = state;
          this.#changed();
        },
        setTimeout: this.#setTimeout,
        clearTimeout: this.#clearTimeout,
      });
      this.#connection = this.#rt.state;
      await this.#rt.ready(CONNECT_WAIT_MS);
      return !this.#closed;
    })().catch((error) => {
      this.#booting = null;
      if (this.#closed) return false;
      for (const e of this.#entries.values()) {
        if (e.file && e.go && e.status === "queued") this.#fail(e, errorOf(error), true);
      }
      return false;
    });
  }

  async #kick(): Promise<void> {
    if (!this.#closed && await this.#boot()) this.#pump();
  }

  /** Applies the resume entry found when the file was picked, if it is of this session. */
  #adopt(e: Entry): void {
    const stored = e.stored;
    e.stored = null;
    if (!stored || stored.sessionId !== this.#session?.id) return;
    const twin = this.#bySid(stored.fileId);
    // The same file picked twice: the second one is a new upload (unless the first is only
    // listed after a reload: the pick takes its place).
    if (twin?.file && !twin.waiting) return;
    if (twin) this.#entries.delete(twin.id); // shown as another device's file, or listed
    e.sid = stored.fileId;
    e.url = stored.uploadUrl;
    e.fromStore = true;
    e.announced = true;
    this.#changed(e);
  }

  #sync(): Promise<void> {
    const s = this.#session;
    if (!s || this.#closed) return Promise.resolve();
    return getSnapshot(this.#o.http, this.#endpoint, s.id, s.token, this.#life.signal)
      .then((snapshot) => this.#merge(snapshot, true), () => {});
  }

  #command(name: string, e: Entry): Promise<unknown> | null {
    const session = this.#session;
    if (!session || !this.#rt) return null;
    return this.#rt.command(name, { sessionId: session.id, fileId: e.sid }).then((ack) => {
      if (ack?.ok) {
        if (ack.data) this.#merge(ack.data as ProgressUpdateEvent, true);
      } else if (ack?.error && (!e.file || name === "upload-pause")) {
        // A refused pause leaves the server uploading (other devices see it go on), and a
        // remote file has nothing else to tell: say why. A local resume or cancel is followed
        // by its own PATCH or DELETE, whose answer speaks for it.
        e.error = ack.error as FileError;
        this.#changed(e);
      }
    });
  }

  /** Announces (spec `upload-start`) every file about to be created, in one event. */
  #announce(): Promise<unknown> {
    const fresh = this.#all().filter((e) => e.file && e.go && !e.announced && live(e.status));
    for (const e of fresh) e.announced = true;
    if (fresh.length && this.#rt) {
      this.#announcing = this.#rt.command("upload-start", {
        sessionId: this.#session!.id,
        fileIds: fresh.map((e) => e.sid),
        category: this.#o.category,
      });
    }
    return this.#announcing ?? Promise.resolve();
  }

  // ------------------------------------------------------------------ uploads

  #pump(): void {
    if (this.#closed || !this.#session) return;
    const all = this.#all();
    let running = all.filter((e) => e.ctl).length;
    for (const e of all) {
      if (running >= (this.#o.parallel ?? 2)) break;
      if (e.file && e.go && e.status === "queued" && !e.ctl) {
        running++;
        void this.#run(e);
      }
    }
  }

  async #run(e: Entry): Promise<void> {
    const ctl = new AbortController();
    const { signal } = ctl;
    e.ctl = ctl;
    this.#setStatus(e, "uploading");
    try {
      for (;;) {
        try {
          await e.gate;
          e.gate = null;
          if (signal.aborted) return;
          await this.#transfer(e, signal);
          if (signal.aborted) return;
          // The stored path comes with the socket's upload-completed, else from the snapshot.
          if (!e.path) await this.#sync();
          if (!signal.aborted) this.#complete(e, e.path);
          return;
        } catch (error) {
          if (signal.aborted || !(await this.#recover(e, errorOf(error), error, signal))) return;
        }
      }
    } finally {
      if (e.ctl === ctl) e.ctl = null;
      this.#pump();
    }
  }

  /** Creates the upload (or finds the server's offset), then PATCHes chunk by chunk. */
  async #transfer(e: Entry, signal: AbortSignal): Promise<void> {
    const tus = this.#tus!;
    const session = this.#session!;
    const file = e.file!;
    if (e.url) {
      const url = e.url;
      e.offset = await this.#guard(e, signal, (s) => tus.head(url, s));
      e.fromStore = false;
    } else {
      if (!e.announced) await this.#announce();
      if (signal.aborted) return;
      e.url = await this.#guard(e, signal, (s) =>
        tus.create(session.tus, e.size, {
          sessionId: session.id,
          filename: e.name,
          filetype: e.type,
          category: this.#o.category,
          fileId: e.sid,
        }, s));
      e.offset = 0;
      this.#changed(e);
      this.#resume.set(e.fp, {
        uploadUrl: e.url,
        fileId: e.sid,
        sessionId: session.id,
        token: session.token,
      });
      void this.#remember(e, session);
    }
    // An attempt that moved the server's offset (this HEAD tells) was worth it: only attempts
    // in a row that moved nothing spend the budget, so a 2 GB video survives any number of
    // drops as long as each one got some bytes through.
    this.#reached(e);
    this.#progress(e, 0, e.offset);
    const url = e.url;
    const chunk = this.#o.chunkSize ?? Infinity;
    let conflicts = 0;
    while (e.offset < e.size && !signal.aborted) {
      const start = e.offset;
      try {
        const end = Math.min(e.size, start + chunk);
        let last = 0;
        e.offset = await this.#guard(e, signal, (s, beat) =>
          tus.patch(
            url,
            // Chromium reads a sliced Blob through its browser process (measured: ~0.75 CPU-s
            // per 256 MiB, a third of the throughput on 2 cores); a whole File goes straight to
            // the network process.
            start === 0 && end === e.size && file instanceof Blob ? file : file.slice(start, end),
            start,
            s,
            (sent) => {
              if (s.aborted) return;
              if (sent > last) beat();
              last = Math.max(last, sent);
              this.#progress(e, start + sent, 0);
            },
          ));
      } catch (error) {
        // 409: someone else moved the offset; continue from the server's.
        if (!(error instanceof HttpError) || error.code !== "OFFSET_MISMATCH" || conflicts++ > 2) {
          throw error;
        }
        e.offset = error.offset ?? await this.#guard(e, signal, (s) => tus.head(url, s));
        continue;
      }
      if (signal.aborted) return;
      if (e.offset > start) conflicts = 0;
      this.#reached(e);
      this.#progress(e, e.offset, e.offset);
    }
  }

  /** The server's offset is past any seen before: the failures so far are forgiven. */
  #reached(e: Entry): void {
    if (e.offset <= e.high) return;
    e.high = e.offset;
    e.attempts = e.recreated = 0;
    e.retry = null;
  }

  /**
   * Runs one request under the stall watchdog (see stall.ts); a stall is a retryable
   * CONNECTION_TIMEOUT, so the upload goes on from a HEAD after the backoff.
   */
  async #guard<T>(
    e: Entry,
    signal: AbortSignal,
    request: (signal: AbortSignal, beat: () => void) => Promise<T>,
  ): Promise<T> {
    const ms = this.#o.stallTimeoutMs ?? STALL_MS;
    const w = stall(signal, ms, this.#setTimeout, this.#clearTimeout);
    e.beat = w.beat;
    try {
      return await request(w.signal, w.beat);
    } catch (error) {
      if (!w.signal.aborted || signal.aborted) throw error; // not stalled
      throw new HttpError(0, "CONNECTION_TIMEOUT", "Stalled");
    } finally {
      w.dispose();
      if (e.beat === w.beat) e.beat = null;
    }
  }

  /** The network came back (online, page visible): waiting retries go now. */
  #wake = (): void => {
    for (const wake of this.#sleepers) wake(); // (a Set iterates safely while deleting)
    this.#rt?.wake();
    // Out of budget while offline: the same failure is worth another round now (only a
    // failed file has canRetry, and it has its error).
    for (const e of this.#all()) if (e.canRetry && transient(e.error!.code)) this.retry(e.id);
  };

  /** Decides what a failure means; true: try again now (after a backoff where due). */
  async #recover(e: Entry, error: FileError, raw: unknown, signal: AbortSignal) {
    const o = this.#o;
    const status = raw instanceof HttpError ? raw.status : 0;
    let kind = verdict(status, error.code);
    // A stored upload that was cancelled is only gone for this new pick.
    if (kind === "cancelled" && e.fromStore) kind = "gone";
    if (kind === "paused") {
      this.#halt(e);
      e.held = true;
      this.#setStatus(e, "paused");
      return false;
    }
    if (kind === "cancelled") {
      this.#cancelled(e);
      return false;
    }
    if (kind === "gone" && e.recreated++ < 1) {
      this.#renew(e);
      return true;
    }
    const max = this.#serverMax ?? o.maxRetries ?? 5;
    const auto = kind === "retry" || kind === "offset";
    if (auto && e.attempts < max) {
      const attempt = ++e.attempts;
      e.retry = { attempt, max };
      e.error = error;
      this.#setStatus(e, "retrying");
      this.#emit("upload-error", e, { error, willRetry: true });
      await this.#sleep(backoff(attempt, o.random ?? Math.random), signal);
      if (signal.aborted) return false;
      e.error = null;
      this.#setStatus(e, "uploading");
      return true;
    }
    this.#halt(e);
    this.#fail(e, error, auto || manuallyRetryable(error.code));
    return false;
  }

  /** Forgets the server upload: the next try creates a new one (with a new server id). */
  #renew(e: Entry): void {
    this.#forget(e);
    e.url = null;
    e.sid = crypto.randomUUID();
    e.announced = e.fromStore = false;
    e.offset = e.high = 0;
    this.#changed(e);
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = this.#setTimeout(done, ms);
      this.#sleepers.add(done);
      signal.addEventListener("abort", done);
    });
  }

  // ------------------------------------------------------------------ transitions

  /** Files picked before the limits arrived are checked again before any upload request. */
  #recheck(): void {
    let count = 0;
    for (const e of this.#all()) {
      const refused = e.file && !e.url && live(e.status) &&
        check(e.file, { ...this.#o, limits: this.#limits, count });
      if (refused) {
        this.#fail(e, { code: REFUSED[refused.reason], message: refused.message }, false);
      } else if (e.status !== "cancelled") count++;
    }
  }

  #all(): Entry[] {
    return [...this.#entries.values()];
  }

  #targets(id: string | undefined): Entry[] {
    return this.#all().filter((e) => id === undefined ? e.file : e.id === id);
  }

  #bySid(sid: string): Entry | undefined {
    for (const e of this.#entries.values()) if (e.sid === sid) return e;
  }

  /** Stops the running request and backoff of a file (its status is the caller's). */
  #halt(e: Entry): void {
    e.ctl?.abort();
    e.ctl = null;
    e.gate = null;
    e.meter.reset();
  }

  #queue(e: Entry): void {
    e.go = true;
    e.held = e.canRetry = false;
    e.error = null;
    this.#setStatus(e, "queued");
    void this.#kick();
  }

  /** Sets the status; `event` fires after it and before the session's completion check. */
  #setStatus(e: Entry, status: FileStatus, event?: () => void): void {
    const changed = e.status !== status;
    e.status = status;
    this.#changed(e);
    if (changed && status === "uploading" && !e.started) {
      e.started = true;
      this.#emit("upload-start", e, {});
    }
    event?.();
    if (changed && ended(status)) {
      this.#forget(e);
      this.#checkComplete();
    }
  }

  /** Drops the file's resume entry (done, cancelled, refused for good, or recreated). */
  #forget(e: Entry): void {
    if (e.file && this.#session) this.#resume.remove(e.fp, this.#session.id);
    this.#pending.drop(e.sid);
  }

  #go(e: Entry): void {
    e.waiting = null;
    this.#queue(e);
  }

  /**
   * Lists the upload for a reload: the file itself in the BlobStore when small enough (a Blob
   * stored by reference, never read), else its fingerprint to match the file picked again.
   */
  async #remember(e: Entry, s: Session): Promise<void> {
    const file = e.file!;
    const fileId = e.sid;
    const blobs = this.#o.blobs;
    const head = await headHash(file);
    // A quota error (or no store) falls back to asking for the file after a reload.
    const kept = !!blobs && file.size <= (this.#o.persistMaxSize ?? PERSIST_MAX) &&
      await blobs.put(fileId, file as unknown as Blob).then(() => true, () => false);
    if (e.sid !== fileId || ended(e.status) || (e.status === "failed" && !e.canRetry)) {
      if (kept) this.#pending.drop(fileId); // finished meanwhile
      return;
    }
    const { name, size, type, lastModified } = file;
    this.#pending.set({
      fileId,
      uploadUrl: e.url!,
      sessionId: s.id,
      token: s.token,
      name,
      size,
      type,
      lastModified,
      head,
      kept,
      at: this.#now(),
    });
  }

  /**
   * After a reload: the unfinished uploads of the session (the given one, else the newest
   * listed), paused with the server's offset. The records of other sessions are not shown but
   * checked alike (at the same time), so none outlives its upload: one the server no longer has
   * (completed, cancelled, expired session: a 4xx) or has whole is dropped from the list.
   */
  async #restore(): Promise<void> {
    const shown = this.#pending.of(this.#session?.id);
    const others = this.#pending.all().filter((p) => p.sessionId !== shown[0]?.sessionId);
    const swept = Promise.all(others.map((p) => this.#check(p)));
    for (const p of shown) {
      const offset = await this.#check(p);
      if (this.#closed) return;
      const picked = this.#all().some((e) => e.stored?.fileId === p.fileId || e.sid === p.fileId);
      if (offset === null || picked) continue;
      const blob = p.kept ? await this.#o.blobs?.get(p.fileId).catch(() => null) : null;
      this.#list(p, blob ? asFile(p, blob) : null, offset);
    }
    await swept;
  }

  /** The server's offset of a recorded upload; null once dropped (gone, or complete). */
  async #check(p: PendingUpload): Promise<number | null> {
    const offset = await new TusClient(this.#o.http, p.token).head(p.uploadUrl, this.#life.signal)
      // A 4xx: gone. Anything else is unknown for now: kept, the next load (or Continue) tells.
      .catch((error) =>
        error instanceof HttpError && (error.status / 100 >> 0) === 4 ? Infinity : 0
      );
    if (offset < p.size) return offset;
    this.#pending.drop(p.fileId); // gone, or completed meanwhile (another tab)
    this.#resume.remove(fingerprint(p), p.sessionId);
    return null;
  }

  #list(p: PendingUpload, file: FileLike | null, offset: number): void {
    if (!this.#session) this.#useSession(p.sessionId, p.token);
    if (p.sessionId !== this.#session!.id) return;
    const e = createEntry(crypto.randomUUID(), {
      file,
      name: p.name,
      size: p.size,
      type: p.type,
      fp: file ? fingerprint(file) : "",
    });
    e.sid = p.fileId;
    e.url = p.uploadUrl;
    e.fromStore = e.announced = true;
    e.status = "paused";
    e.waiting = file ? "ready" : "file";
    e.pending = p;
    advance(e, 0, offset, this.#now());
    this.#entries.set(e.id, e);
    this.#changed();
    // auto-start: the kept file needs no user step, as a pick would not; a big one waits.
    if (file && this.#o.autoStart) this.#go(e);
  }

  #progress(e: Entry, sent: number, confirmed: number): void {
    const now = this.#now();
    if (!advance(e, sent, confirmed, now)) return;
    this.#changed(e, true);
    if (e.status === "uploading" && now - e.lastEvent >= PROGRESS_EVENT_MS) {
      e.lastEvent = now;
      this.#emit("upload-progress", e, { totals: this.snapshot.totals });
    }
  }

  #complete(e: Entry, path: string | null): void {
    e.path = path || e.path;
    // Cancelled here while its last bytes landed: the DELETE removes the finished file.
    if (ended(e.status)) return this.#changed(e);
    this.#halt(e);
    this.#progress(e, e.size, e.size);
    e.error = null;
    e.canRetry = false;
    this.#setStatus(
      e,
      "completed",
      () => this.#emit("upload-complete", e, { uploadPath: e.path ?? "" }),
    );
  }

  #cancelled(e: Entry): void {
    if (ended(e.status)) return;
    this.#halt(e);
    this.#setStatus(e, "cancelled");
  }

  #fail(e: Entry, error: FileError, canRetry: boolean): void {
    e.error = error;
    e.canRetry = canRetry && !!e.file;
    if (!canRetry) this.#forget(e);
    this.#setStatus(e, "failed", () => this.#emit("upload-error", e, { error, willRetry: false }));
  }

  #checkComplete(): void {
    const s = this.snapshot;
    if (!s.complete) {
      this.#completeFired = false;
      return;
    }
    // Another device's files are known in part: the server decides when they are all done.
    if (this.#completeFired || (s.files.some((f) => f.remote) && !this.#serverDone)) return;
    this.#completeFired = true;
    const done = s.files.filter((f) => f.status === "completed");
    this.#emit("session-complete", null, {
      sessionId: s.sessionId!,
      files: s.files,
      uploadPaths: done.map((f) => f.uploadPath!).filter(Boolean),
    });
  }

  // ------------------------------------------------------------------ the room

  #onEvent(name: string, p: RoomPayload): void {
    if (this.#closed) return;
    const e = p.fileId ? this.#bySid(p.fileId) : undefined;
    switch (name) {
      case "upload-progress":
        return this.#merge(p);
      case "upload-started":
        if (!e) this.#remote(p.fileId, p.fileName, p.fileSize);
        return;
      case "upload-completed":
        return this.#complete(e ?? this.#remote(p.fileId, p.fileName, p.fileSize), p.uploadPath);
      case "upload-paused":
        return e && this.#remotePause(e, p.uploadedBytes);
      case "upload-resumed":
        return e && this.#remoteResume(e);
      case "upload-cancelled":
        for (const f of p.fileId ? [e] : this.#all()) if (f) this.#cancelled(f);
        return;
      case "upload-failed":
        if (p.maxRetries >= 0) this.#serverMax = p.maxRetries;
        return e && this.#remoteFailure(e, p.error, p.canRetry);
      case "session-error": {
        let missed = false;
        for (const sid of p.affectedFiles) {
          const f = this.#bySid(sid);
          // A session that ends failed names its failed files: each said so already.
          if (!f) missed = true;
          else if (f.status !== "failed") this.#remoteFailure(f, p.error, false);
        }
        if (missed) void this.#sync(); // another device's files, never heard of here
        return;
      }
      case "session-completed":
        this.#serverDone = true;
        if (!this.snapshot.complete) void this.#sync(); // some completion was missed
        return this.#checkComplete();
    }
  }

  /**
   * Merges a progress event or snapshot (`currentFile`, `files[]`, `overallStatus`).
   * `current`: a snapshot read now (GET, ack), not an event that may predate a 423.
   */
  #merge(p: Partial<ProgressUpdateEvent>, current = false): void {
    for (const f of [...p.files ?? [], ...p.currentFile ? [p.currentFile] : []]) {
      this.#mergeFile(f, current);
    }
    if (p.overallStatus === "completed") {
      this.#serverDone = true;
      this.#checkComplete();
    }
  }

  #mergeFile(f: FileProgress, current: boolean): void {
    let e = this.#bySid(f.id);
    if (!e) {
      if (f.status === "cancelled") return;
      e = this.#remote(f.id, f.originalName, f.totalBytes ?? 0);
    }
    if (f.uploadedBytes > e.confirmed) e.beat?.(); // the server stored more: not stalled
    this.#progress(e, 0, f.uploadedBytes);
    if (f.status === "completed") return this.#complete(e, f.uploadPath ?? null);
    if (f.status === "cancelled") return this.#cancelled(e);
    if (f.status === "paused") return this.#remotePause(e, f.uploadedBytes);
    if (e.file) {
      // Resumed by another device while this one polled (no upload-resumed heard).
      if (current && e.held && e.status === "paused") this.#remoteResume(e);
    } else if (!ended(e.status) && !e.waiting) {
      e.error = f.errorMessage ? { code: "INTERNAL_ERROR", message: f.errorMessage } : null;
      this.#setStatus(e, f.status === "pending" ? "queued" : f.status);
    }
  }

  /** A file of another device, first heard of in the room. */
  #remote(sid: string, name: string, size: number): Entry {
    const e = createEntry(sid, { file: null, name, size, type: "" });
    e.announced = true;
    this.#entries.set(sid, e);
    this.#serverDone = false; // the session has more files than when it said it was done
    this.#changed();
    return e;
  }

  /** Paused by the server: another device (or this one, heard back). */
  #remotePause(e: Entry, bytes: number): void {
    this.#progress(e, 0, bytes);
    if (!live(e.status)) return;
    this.#halt(e);
    e.held = !!e.file;
    this.#setStatus(e, "paused");
  }

  #remoteResume(e: Entry): void {
    if (!e.file) {
      if (RESUMABLE.has(e.status)) this.#setStatus(e, "uploading");
    } else if (e.status === "paused" || (e.status === "failed" && e.canRetry)) {
      this.#queue(e);
    }
  }

  /**
   * `upload-failed` / `session-error`: a failure the server says cannot be retried stops a
   * file of this device at once, with the server's code and message. A transient code heard
   * with `canRetry: false` is our own abort (or a stall) heard back, or a server spending the
   * budget itself: the budget is the client's (see #reached), so that one does not stop it.
   */
  #remoteFailure(e: Entry, error: FileError, canRetry: boolean): void {
    if (!e.file) {
      if (ended(e.status)) return;
      // Its owner retries by itself when the server says it can.
      e.error = error;
      this.#setStatus(
        e,
        canRetry ? "retrying" : "failed",
        () => this.#emit("upload-error", e, { error, willRetry: canRetry }),
      );
    } else if (!canRetry && !transient(error.code) && (live(e.status) || e.status === "paused")) {
      this.#halt(e);
      this.#fail(e, error, manuallyRetryable(error.code));
    }
  }

  // ------------------------------------------------------------------ snapshots and events

  #fileSnap(e: Entry): FileSnapshot {
    return e.snap ??= toSnapshot(e);
  }

  #build(): EngineSnapshot {
    const files = this.#all().map((e) => this.#fileSnap(e));
    const count = (s: FileStatus) => files.filter((f) => f.status === s).length;
    const end = files.length && files.every((f) => SETTLED.has(f.status))
      ? endStatus(count("completed"), count("failed"))
      : null;
    return {
      files,
      connection: this.#connection,
      sessionId: this.#session?.id ?? null,
      limits: this.#limits,
      totals: totals(files),
      busy: files.some((f) => !f.remote && ACTIVE.has(f.status)),
      complete: end === "completed",
      ended: end,
    };
  }

  /** Drops cached snapshots; listeners hear of it once per microtask (per 50 ms for progress). */
  #changed(e?: Entry, progress = false): void {
    if (e) e.snap = null;
    this.#snap = null;
    if (this.#closed || this.#notify === "microtask") return;
    const wait = progress ? this.#notifiedAt + NOTIFY_MS - this.#now() : 0;
    if (wait > 0) {
      if (this.#notify) return;
      this.#notify = "timer";
      this.#notifyTimer = this.#setTimeout(this.#flush, wait);
    } else {
      this.#clearTimeout(this.#notifyTimer);
      this.#notify = "microtask";
      queueMicrotask(this.#flush);
    }
  }

  #flush = (): void => {
    if (!this.#notify || this.#closed) return;
    this.#notify = null;
    this.#notifiedAt = this.#now();
    const snapshot = this.snapshot;
    for (const listener of [...this.#listeners]) safely(listener, snapshot);
  };

  /** Fires `name` with `detail` (plus `file`, the snapshot of `e`, when given). */
  #emit<K extends keyof EngineEvents>(
    name: K,
    e: Entry | null,
    detail: Omit<EngineEvents[K], "file">,
  ): void {
    const full = e ? { file: this.#fileSnap(e), ...detail } : detail;
    for (const listener of [...this.#handlers.get(name) ?? []]) {
      safely(listener as (d: typeof full) => void, full);
    }
  }
}

/**
 * Calls a host listener; its exception is reported on its own (thrown again in a microtask)
 * and never taken for an upload failure, nor stops the other listeners.
 */
function safely<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** A thrown value as the FileError the view shows. */
function errorOf(error: unknown): FileError {
  return error instanceof HttpError
    ? { code: error.code as FileError["code"], message: error.message }
    : { code: "INTERNAL_ERROR", message: String((error as Error)?.message ?? error) };
}
