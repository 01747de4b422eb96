import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from "lit";
import type { Category, ClientType } from "../protocol/events.ts";
import { ACTIVE, UNFINISHED } from "../protocol/status.ts";
import type {
  ConnectionState,
  EngineSnapshot,
  FileLike,
  FileSnapshot,
  Rejection,
} from "./engine/types.ts";
import { formatBytes, formatEta, formatSpeed, parseSize, percent } from "./format.ts";
import { resolveLang, type Strings, stringsFor } from "./i18n/mod.ts";
import type { FileAction } from "./i18n/strings.ts";
import { icons } from "./icons.ts";
import type { Milestone } from "./milestones.ts";
import { styles } from "./h5_uploader.styles.ts";
import { createBrowserEngine } from "./browser_engine.ts";
import {
  type AddResult,
  type Engine,
  type EngineConfig,
  UploadController,
} from "./upload_controller.ts";

/** The server that served this script: zero attributes upload back to it. */
const scriptOrigin = (): string => {
  const origin = new URL(import.meta.url).origin;
  return origin === "null" ? globalThis.location?.origin ?? "" : origin;
};

const sizeConverter = { fromAttribute: parseSize };
/** A space between inline runs (the template minifier drops line-break whitespace). */
const SPACE = " ";

/**
 * `<h5-uploader>`: resumable uploads (tus) with live progress, for phones first.
 *
 * With no attributes it uploads to the server that served the script, creating its own
 * session; a host page whose backend created a session passes `session-id` and `token`.
 *
 * ```html
 * <script type="module" src="https://uploads.example/h5-uploader.js"></script>
 * <h5-uploader category="scenic" accept="image/*,video/*" multiple></h5-uploader>
 * ```
 *
 * @summary Upload photos and videos with pause, resume, retry and live progress.
 *
 * @attr {string} endpoint - Server base URL. Default: the origin this script was loaded from.
 * @attr {"personal" | "scenic"} category - Upload category (server limits differ). Default `personal`.
 * @attr {string} accept - Accepted types, as on `<input type=file>` (`image/*,.pdf`). Checked before sending.
 * @attr {number} max-files - At most this many files (the session's limit also applies).
 * @attr {string} max-size - Per-file size limit: bytes or `20MB`, `2GiB` (the category's limit also applies).
 * @attr {boolean} multiple - Allow choosing several files at once.
 * @attr {"user" | "environment"} capture - On phones, open the front (`user`) or back (`environment`) camera directly.
 * @attr {string} lang - `zh-CN` or `en`. Default: the nearest `lang` of the page, then the browser's language.
 * @attr {string} session-id - A session created by the host page's backend (with `token`).
 * @attr {string} token - The bearer token of `session-id`.
 * @attr {string} chunk-size - Bytes per PATCH request: bytes or `8MB`. Default: one PATCH per file (set it behind a proxy that caps request bodies).
 * @attr {number} stall-timeout - Seconds without upload progress before a request is dropped and the upload resumes from the server's offset. Default 20; `0` never.
 * @attr {string} persist-max-size - Files up to this size (bytes or `32MB`) are kept in IndexedDB while they upload, so after a reload or a crash they continue without being picked again; bigger ones are listed and ask for the same file. Default 32 MiB; `0` keeps none.
 * @attr {boolean} auto-start - Upload as soon as files are added (no start button).
 * @attr {string} name - Form field name: the form submits one entry per uploaded file id.
 * @attr {boolean} required - Form validation fails until at least one file is uploaded.
 * @attr {"web" | "mobile"} client-type - Reported to the server. Default `mobile` on touch screens, else `web`.
 *
 * @fires {H5UploadStartEvent} h5-upload-start - A file's transfer began. `detail: {file}`.
 * @fires {H5UploadProgressEvent} h5-upload-progress - A file progressed. `detail: {file, totals}`.
 * @fires {H5UploadCompleteEvent} h5-upload-complete - The server has a whole file. `detail: {file, uploadPath}`.
 * @fires {H5UploadErrorEvent} h5-upload-error - A file failed. `detail: {file, error, willRetry}`.
 * @fires {H5SessionCompleteEvent} h5-session-complete - Every file is done. `detail: {sessionId, files, uploadPaths, fileIds}`.
 *
 * @csspart base - The wrapper of everything.
 * @csspart dropzone - The drop zone, a `<label>` around the native file input.
 * @csspart messages - The list of refused files.
 * @csspart message - One refused file's message.
 * @csspart summary - Totals: files done, total progress, speed, time left, connection (`data-status` once every file ended: completed, failed, cancelled).
 * @csspart connection - The connection state, announced politely (`role=status`; `data-state`: connecting, connected, reconnecting, polling, offline).
 * @csspart toolbar - The start / pause all / resume all / cancel all buttons.
 * @csspart button - Every button (toolbar and per file).
 * @csspart file-list - The `<ul>` of files.
 * @csspart file - One file (`data-status`: queued, uploading, paused, retrying, completed, failed, cancelled; `data-waiting`: `ready` or `file` for an upload listed after a reload).
 * @csspart continue - The Continue action of an upload listed after a reload whose file must be picked again (a `<label>` around a file input).
 * @csspart thumbnail - A file's image preview or type icon.
 * @csspart name - A file's name (ellipsized).
 * @csspart status - A file's status line (size, status, speed, time left).
 * @csspart error - A file's error message.
 * @csspart progress - A progress track (per file and total).
 * @csspart total-progress - The total progress track (it is also a `progress` part).
 * @csspart progress-fill - The filled part of a progress track.
 *
 * @cssprop [--h5-uploader-accent=#2563eb] - Buttons, progress, focus ring (dark: #60a5fa).
 * @cssprop [--h5-uploader-accent-text=#ffffff] - Text on the accent (dark: #111827); set it with the accent.
 * @cssprop [--h5-uploader-background=#ffffff] - Background (dark: #111827).
 * @cssprop [--h5-uploader-surface=#f3f4f6] - Drop zone, file rows and progress tracks (dark: #1f2937).
 * @cssprop [--h5-uploader-text=#111827] - Text (dark: #f9fafb).
 * @cssprop [--h5-uploader-muted=#4b5563] - Secondary text (dark: #9ca3af).
 * @cssprop [--h5-uploader-border=#d1d5db] - Borders (dark: #374151).
 * @cssprop [--h5-uploader-radius=12px] - Corner radius.
 * @cssprop [--h5-uploader-font=system-ui, sans-serif] - Font family.
 * @cssprop [--h5-uploader-danger=#b91c1c] - Errors and refused files (dark: #f87171).
 * @cssprop [--h5-uploader-success=#15803d] - Completed files (dark: #4ade80).
 * @cssprop [--h5-uploader-focus-ring=2px solid var(--h5-uploader-accent)] - Outline of the focused control.
 */
export class H5Uploader extends LitElement {
  static override styles = styles;
  static formAssociated = true;
  static override shadowRootOptions: ShadowRootInit = {
    ...LitElement.shadowRootOptions,
    delegatesFocus: true,
  };
  static override properties = {
    endpoint: {},
    category: {},
    accept: {},
    maxFiles: { attribute: "max-files", type: Number },
    maxSize: { attribute: "max-size", converter: sizeConverter },
    multiple: { type: Boolean },
    capture: {},
    lang: { reflect: true },
    sessionId: { attribute: "session-id", noAccessor: true },
    token: {},
    chunkSize: { attribute: "chunk-size", converter: sizeConverter },
    stallTimeout: { attribute: "stall-timeout", type: Number },
    persistMaxSize: { attribute: "persist-max-size", converter: sizeConverter },
    autoStart: { attribute: "auto-start", type: Boolean },
    name: {},
    required: { type: Boolean },
    clientType: { attribute: "client-type" },
  };

  /** Server base URL; "" means the origin this script was loaded from. */
  declare endpoint: string;
  declare category: Category;
  declare accept: string;
  declare maxFiles: number | undefined;
  /** Bytes (the attribute also takes `20MB`, `2GiB`). */
  declare maxSize: number | undefined;
  declare multiple: boolean;
  declare capture: "user" | "environment" | "";
  declare token: string;
  /** Bytes per PATCH (the attribute also takes `8MB`). */
  declare chunkSize: number | undefined;
  /** Seconds without upload progress before a stalled request is retried (0: never). */
  declare stallTimeout: number | undefined;
  /** Bytes (the attribute also takes `32MB`); 0 keeps no file for a reload. */
  declare persistMaxSize: number | undefined;
  declare autoStart: boolean;
  declare name: string;
  declare required: boolean;
  /** "" picks `mobile` on touch screens, else `web`. */
  declare clientType: ClientType | "";

  #sessionId = "";
  /** Why the file picked to continue a listed upload was refused ("" none). */
  #mismatch = "";
  #internals: ElementInternals;
  #uploads: UploadController;
  #rejections: readonly Rejection[] = [];
  #announcement = "";
  #announcing = false;
  #dragging = 0;
  #langObserver: MutationObserver | null = null;
  #formValue = "";

  /** How the engine is made (tests replace it). */
  static createEngine: (config: EngineConfig) => Engine = createBrowserEngine;

  constructor() {
    super();
    this.endpoint = "";
    this.category = "personal";
    this.accept = "";
    this.multiple = false;
    this.capture = "";
    this.token = "";
    this.autoStart = false;
    this.name = "";
    this.required = false;
    this.clientType = "";
    this.#internals = this.attachInternals();
    this.#uploads = new UploadController(this, {
      config: () => this.#config(),
      createEngine: (config) => (this.constructor as typeof H5Uploader).createEngine(config),
      announce: (passed) => this.#announce(passed.map((m) => this.#milestoneText(m))),
    });
    this.addEventListener("dragenter", this.#onDrag);
    this.addEventListener("dragover", this.#onDrag);
    this.addEventListener("dragleave", this.#onDragLeave);
    this.addEventListener("drop", this.#onDrop);
    this.addEventListener("paste", this.#onPaste);
  }

  // ---- read-only state ----

  /** Every file, as immutable snapshots. */
  get files(): readonly FileSnapshot[] {
    return this.#uploads.snapshot.files;
  }
  /** The whole engine snapshot: files, totals, connection, limits, busy, complete. */
  get state(): EngineSnapshot {
    return this.#uploads.snapshot;
  }
  /** `idle`, `connecting`, `connected`, `reconnecting`, `polling` or `offline`. */
  get connection(): ConnectionState {
    // The socket notices a dead network only after its ping timeout; the browser knows now.
    return navigator.onLine === false ? "offline" : this.#uploads.snapshot.connection;
  }
  /** The session in use: the one given by `session-id`, else the one created. */
  get sessionId(): string | null {
    return this.#uploads.snapshot.sessionId ?? (this.#sessionId || null);
  }
  set sessionId(value: string | null) {
    const old = this.#sessionId;
    this.#sessionId = value ?? "";
    this.requestUpdate("sessionId", old);
  }
  /** Ids of the completed files (the form value). */
  get uploadedIds(): string[] {
    return this.#completed().map((f) => f.id);
  }
  /** Server paths of the completed files. */
  get uploadPaths(): string[] {
    return this.#completed().flatMap((f) => (f.uploadPath ? [f.uploadPath] : []));
  }
  /** Some file is uploading or retrying. */
  get busy(): boolean {
    return this.#uploads.snapshot.busy;
  }
  /** Every file is completed or cancelled and at least one completed. */
  get complete(): boolean {
    return this.#uploads.snapshot.complete;
  }

  // ---- methods ----

  /** Adds files, checked against accept, max-size and max-files: `{added, rejected}`. */
  addFiles(files: Iterable<File> | ArrayLike<File>): AddResult {
    const result = this.#uploads.addFiles(Array.from(files) as FileLike[]);
    this.#rejections = result.rejected;
    if (result.rejected.length) this.#announce([this.#strings.refused(result.rejected.length)]);
    this.requestUpdate();
    return result;
  }
  /** Starts uploading the queued files (needed unless `auto-start`). */
  start(): Promise<void> {
    return this.#uploads.engine.start();
  }
  /** Pauses every active upload (server state: every watcher sees it). */
  pauseAll(): void {
    this.#uploads.engine.pause();
  }
  /** Resumes every paused upload. */
  resumeAll(): void {
    this.#uploads.engine.resume();
  }
  /** Cancels every unfinished upload. */
  cancelAll(): void {
    this.#uploads.engine.cancel();
  }

  // ---- lifecycle ----

  override connectedCallback(): void {
    super.connectedCallback();
    this.#langObserver = new MutationObserver(() => this.requestUpdate());
    this.#langObserver.observe(document.documentElement, { attributeFilter: ["lang"] });
    addEventListener("online", this.#redraw);
    addEventListener("offline", this.#redraw);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#langObserver?.disconnect();
    removeEventListener("online", this.#redraw);
    removeEventListener("offline", this.#redraw);
  }

  /** Form reset: cancels and clears every file. */
  formResetCallback(): void {
    this.#uploads.clear();
    this.#rejections = [];
    this.requestUpdate();
  }

  override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.#announcing = false;
    const ids = this.uploadedIds;
    const key = `${this.name}\n${ids.join("\n")}`;
    if (key !== this.#formValue) {
      this.#formValue = key;
      let value: FormData | null = null;
      if (this.name) {
        value = new FormData();
        for (const id of ids) value.append(this.name, id);
      }
      this.#internals.setFormValue(value);
    }
    const input = this.renderRoot.querySelector("input") ?? undefined;
    if (this.required && !ids.length) {
      this.#internals.setValidity({ valueMissing: true }, this.#strings.required, input);
    } else {
      this.#internals.setValidity({});
    }
  }

  // ---- view ----

  get #strings(): Strings {
    return stringsFor(resolveLang([
      this.closest?.("[lang]")?.getAttribute("lang"),
      globalThis.document?.documentElement.lang,
      ...(navigator.languages ?? [navigator.language]),
    ]));
  }

  get #mobile(): boolean {
    const coarse = globalThis.matchMedia?.("(pointer: coarse)").matches;
    return (this.clientType || (coarse ? "mobile" : "web")) === "mobile";
  }

  #config(): EngineConfig {
    const config: EngineConfig = {
      endpoint: (this.endpoint || scriptOrigin()).replace(/\/+$/, ""),
      category: this.category === "scenic" ? "scenic" : "personal",
      clientType: this.#mobile ? "mobile" : "web",
      autoStart: this.autoStart,
    };
    if (this.#sessionId && this.token) {
      config.sessionId = this.#sessionId;
      config.token = this.token;
    }
    if (this.chunkSize) config.chunkSize = this.chunkSize;
    if (this.stallTimeout! >= 0) config.stallTimeoutMs = this.stallTimeout! * 1000;
    if (this.persistMaxSize! >= 0) config.persistMaxSize = this.persistMaxSize!;
    if (this.accept) config.accept = this.accept;
    if (this.maxFiles! > 0) config.maxFiles = this.maxFiles!;
    if (this.maxSize) config.maxSize = this.maxSize;
    return config;
  }

  #completed(): FileSnapshot[] {
    return this.#uploads.snapshot.files.filter((f) => f.status === "completed");
  }

  override render(): TemplateResult {
    const s = this.#strings;
    const { files, limits } = this.#uploads.snapshot;
    const maxFiles = Math.min(this.maxFiles || Infinity, limits?.maxFiles ?? Infinity);
    const maxSize = Math.min(this.maxSize || Infinity, limits?.maxFileSize ?? Infinity);
    const accept = this.accept || limits?.allowedTypes.join(",") || "";
    const limitText = s.limits(
      Number.isFinite(maxFiles) ? maxFiles : null,
      Number.isFinite(maxSize) ? formatBytes(maxSize) : null,
    );
    const mobile = this.#mobile;
    return html`<div part="base" class="base" lang=${s.locale}>
      <label part="dropzone" class="drop" ?data-dragging=${this.#dragging > 0}>
        <input type="file" class="sr" accept=${accept || nothing} ?multiple=${this.multiple}
          capture=${this.capture || nothing} @change=${this.#onPick}>
        ${icons.upload}
        <span class="drop-text">
          <strong>${s.pick(mobile)}</strong>${SPACE}<span>${s.pickHint(mobile)}</span>
          ${limitText ? html`${SPACE}<span>${limitText}</span>` : nothing}
        </span>
      </label>
      ${
      this.#rejections.length || this.#mismatch
        ? html`<ul part="messages" class="messages">
          ${this.#mismatch ? html`<li part="message">${this.#mismatch}</li>` : nothing}
          ${
          this.#rejections.map((r) =>
            html`<li part="message">${s.rejected(r.reason, r.name, r.limit)}</li>`
          )
        }
        </ul>`
        : nothing
    }
      ${files.length ? this.#summary(s) : nothing}
      ${files.length ? this.#toolbar(s) : nothing}
      ${
      files.length
        ? html`<ul part="file-list" class="files" aria-label=${s.fileList}>
          ${files.map((f) => this.#file(f, s))}
        </ul>`
        : nothing
    }
      <div class="sr" role="status" aria-live="polite">${this.#announcement}</div>
    </div>`;
  }

  #summary(s: Strings): TemplateResult {
    const { files, totals, ended } = this.#uploads.snapshot;
    const connection = this.connection;
    const counted = files.filter((f) => f.status !== "cancelled").length;
    const done = files.filter((f) => f.status === "completed").length;
    const failed = files.filter((f) => f.status === "failed").length;
    const active = files.some((f) => ACTIVE.has(f.status));
    // Ended failed or cancelled: say so, never only "n of m uploaded" under a full bar.
    return html`<div part="summary" class="summary" data-status=${ended ?? nothing}>
      <div class="row">
        <span class="grow">${s.filesDone(done, counted)} · ${percent(totals.progress)}%${
      ended === "failed"
        ? html`
          · <span class="error">${s.filesFailed(failed)}</span>
        `
        : ended === "cancelled"
        ? ` · ${s.status.cancelled}`
        : nothing
    }</span>
        ${
      this.#uploads.snapshot.connection === "idle"
        ? nothing
        : html`<span part="connection" class="conn" data-state=${connection} role="status">
          ${s.connection[connection]}
        </span>`
    }
      </div>
      ${this.#bar(totals.progress, s.totalProgress, "total-progress")}
      ${
      active
        ? html`<div class="row muted">
          <span>${formatBytes(totals.done)} / ${formatBytes(totals.bytes)}</span>
          ${this.#rate(totals.speed, totals.eta, s)}
        </div>`
        : nothing
    }
    </div>`;
  }

  #toolbar(s: Strings): TemplateResult {
    const { files } = this.#uploads.snapshot;
    const active = files.some((f) => ACTIVE.has(f.status));
    const paused = files.some((f) => f.status === "paused");
    const queued = files.some((f) => f.status === "queued");
    const unfinished = files.some((f) => UNFINISHED.has(f.status));
    // One pause/resume toggle, so focus stays on it when it flips.
    return html`<div part="toolbar" class="toolbar">
      ${
      this.autoStart || !queued
        ? nothing
        : html`<button part="button" class="primary" @click=${this.#onStart}>
          ${s.start}
        </button>`
    }
      ${
      active || paused
        ? html`<button part="button" class="toggle" @click=${
          active ? this.pauseAll : this.resumeAll
        }>
          ${active ? s.pauseAll : s.resumeAll}
        </button>`
        : nothing
    }
      ${
      unfinished
        ? html`<button part="button" @click=${this.cancelAll}>${s.cancelAll}</button>`
        : nothing
    }
    </div>`;
  }

  /** Speed and time left, led by a space (text runs stay readable without CSS). */
  #rate(speed: number, eta: number | null, s: Strings): TemplateResult | typeof nothing {
    return speed > 0
      ? html`${SPACE}<span>${formatSpeed(speed, s)}</span> <span>${formatEta(eta, s)}</span>`
      : nothing;
  }

  #file(f: FileSnapshot, s: Strings): TemplateResult {
    const thumbnail = this.#uploads.thumbnail(f.id);
    const status = f.waiting
      ? s.waiting[f.waiting]
      : f.status === "retrying" && f.retry
      ? s.retrying(f.retry.attempt, f.retry.max)
      : s.status[f.status];
    const live = ACTIVE.has(f.status);
    const engine = this.#uploads.engine;
    const button = (verb: FileAction, icon: TemplateResult, action: () => unknown) => {
      const label = s.fileAction(s.actions[verb], f.name);
      return html`<button part="button" class="icon" aria-label=${label} title=${label} @click=${action}>
        ${icon}
      </button>`;
    };
    return html`
      <li part="file" class="file" data-status=${f.status}
        data-waiting=${f.waiting || nothing}>
            ${thumbnail
              ? html`
                <img part="thumbnail" class="thumb" src=${thumbnail} alt="" loading="lazy"
                  @load=${() => this.#uploads.thumbnailLoaded(f.id, true)}
                  @error=${() => this.#uploads.thumbnailLoaded(f.id, false)}>
              `
              : html`<span part="thumbnail" class="thumb">${icons.file}</span>`}
            <div class="info">
              <div part="name" class="name" title=${f.name}>${f.name}</div>
              <div part="status" class="meta">
                <span>${formatBytes(f.size)}</span> <span class="state">${status}</span>
                ${live ? this.#rate(f.speed, f.eta, s) : nothing}
              </div>
              ${this.#bar(f.progress, s.progressOf(f.name))}
              ${f.error && f.status !== "retrying"
                ? html`<div part="error" class="error" title=${f.error.message}>${
                  s.error(f.error.code, f.error.message)
                }</div>`
                : nothing}
            </div>
            <div class="actions">
              ${live ? button("pause", icons.pause, () => engine.pause(f.id)) : nothing}
              ${f.waiting === "file"
                ? this.#continue(f, s)
                : f.status === "paused"
                ? button(f.waiting ? "continue" : "resume", icons.resume, () => engine.resume(f.id))
                : nothing}
              ${f.status === "failed" && f.canRetry
                ? button("retry", icons.retry, () => engine.retry(f.id))
                : nothing}
              ${UNFINISHED.has(f.status)
                ? button("cancel", icons.cancel, () => engine.cancel(f.id))
                : button("remove", icons.remove, () => this.#remove(f.id))}
            </div>
          </li>
    `;
  }

  /** Continue of an upload whose file was not kept: the same file is picked again. */
  #continue(f: FileSnapshot, s: Strings): TemplateResult {
    const label = s.fileAction(s.actions.continue, f.name);
    const pick = async (event: Event) => {
      const input = event.target as HTMLInputElement;
      const file = input.files?.[0];
      input.value = "";
      if (!file) return;
      const ok = await this.#uploads.engine.continueWith(f.id, file);
      this.#mismatch = ok ? "" : s.notSameFile(f.name);
      if (!ok) this.#announce([this.#mismatch]);
      this.requestUpdate();
    };
    return html`<label part="button continue" class="icon" title=${label}>
      <input type="file" class="sr" aria-label=${label} @change=${pick}>${icons.resume}
    </label>`;
  }

  #bar(fraction: number, label: string, extra = ""): TemplateResult {
    const value = percent(fraction);
    return html`
      <div part="progress ${extra}" class="bar" role="progressbar" aria-label=${label}
        aria-valuemin="0" aria-valuemax="100" aria-valuenow=${value}>
        <div part="progress-fill" class="fill" .style=${`width:${fraction * 100}%`}></div>
      </div>
    `;
  }

  #milestoneText(m: Milestone): string {
    const s = this.#strings;
    switch (m.kind) {
      case "added":
        return s.added(m.count);
      case "progress":
        return s.progress(m.percent);
      case "completed":
        return s.completed(m.name);
      case "failed":
        return s.failed(m.name, m.error ? s.error(m.error.code, m.error.message) : "");
      case "paused":
        return s.paused(m.name);
      case "all-done":
        return s.allDone(m.count);
    }
  }

  /** Sets the live region; texts of the same update (added + refused) are joined. */
  #announce(texts: string[]): void {
    const text = texts.join(" ");
    this.#announcement = this.#announcing ? `${this.#announcement} ${text}` : text;
    this.#announcing = true;
    this.requestUpdate();
  }

  async #remove(id: string): Promise<void> {
    // Rows are reused by position: after the update the removed row shows the next file.
    // Keep focus in the list rather than letting it fall to <body>.
    const index = this.files.findIndex((f) => f.id === id);
    this.#uploads.engine.remove(id);
    await this.updateComplete;
    const rows = this.renderRoot.querySelectorAll(".file");
    (rows[Math.min(index, rows.length - 1)]?.querySelector("button") ??
      this.renderRoot.querySelector("input"))?.focus();
  }

  async #onStart(): Promise<void> {
    const started = this.start();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>(".toggle, .toolbar button")?.focus();
    await started;
  }

  #redraw = (): void => this.requestUpdate();

  #onPick = (event: Event): void => {
    const input = event.target as HTMLInputElement;
    if (input.files?.length) this.addFiles(input.files);
    input.value = "";
  };

  #onDrag = (event: DragEvent): void => {
    if (!event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    if (event.type === "dragenter") {
      this.#dragging++;
      this.requestUpdate();
    }
  };

  #onDragLeave = (): void => {
    this.#dragging = Math.max(0, this.#dragging - 1);
    this.requestUpdate();
  };

  #onDrop = (event: DragEvent): void => {
    const files = event.dataTransfer?.files;
    if (!files?.length) return;
    event.preventDefault();
    this.#dragging = 0;
    this.addFiles(files);
  };

  #onPaste = (event: ClipboardEvent): void => {
    const files = event.clipboardData?.files;
    if (!files?.length) return;
    event.preventDefault();
    this.addFiles(files);
  };
}

declare global {
  interface HTMLElementTagNameMap {
    "h5-uploader": H5Uploader;
  }
}
