import type {
  Category,
  ClientType,
  UploadCancelEvent,
  UploadPauseEvent,
  UploadResumeEvent,
  UploadStartEvent,
} from "../../protocol/events.ts";
import type {
  CategoryLimits,
  CreateSessionResponse,
  SessionSnapshot,
} from "../../protocol/session.ts";
import { SessionAccess } from "../auth/access.ts";
import type { UploadRecord } from "../state/store.ts";
import type { CreateUploadInput, HttpApi, PatchInput } from "./api.ts";
import type { SessionCommands } from "./commands.ts";
import { Completion } from "./completion.ts";
import type { Concatenation } from "./concatenation.ts";
import { type ServiceConfig, type ServiceDeps, UploadContext } from "./context.ts";
import { DomainEvents } from "./domain_events.ts";
import { FileCommands } from "./file_commands.ts";
import { concatenationOf } from "./join.ts";
import { Maintenance } from "./maintenance.ts";
import type { Principal } from "./principal.ts";
import { Sessions } from "./sessions.ts";
import { TusAccess } from "./tus_access.ts";
import { TusCreation } from "./tus_creation.ts";
import { TusPatch } from "./tus_patch.ts";

export type { CreateUploadInput, HttpApi, PatchInput, SessionApi, TusUploads } from "./api.ts";
export type { ServiceConfig, ServiceDeps } from "./context.ts";

/**
 * The only writer of sessions and uploads. HTTP routes and socket commands call it; it
 * writes storage and state, then publishes domain events for the session rooms. A facade:
 * each concern is its own part (sessions.ts, file_commands.ts, tus_*.ts, completion.ts,
 * maintenance.ts, domain_events.ts) over one shared UploadContext.
 */
export class UploadService implements HttpApi, SessionCommands {
  #ctx: UploadContext;
  #access: SessionAccess;
  #sessions: Sessions;
  #events: DomainEvents;
  #commands: FileCommands;
  #uploads: TusAccess;
  #creation: TusCreation;
  #patch: TusPatch;
  #maintenance: Maintenance;

  constructor(deps: ServiceDeps) {
    const ctx = this.#ctx = new UploadContext(deps);
    this.#access = new SessionAccess({
      tokens: deps.tokens,
      allowAnonymous: deps.config.allowAnonymous,
      session: (id) => ctx.session(id),
    });
    this.#sessions = new Sessions(ctx);
    const events = this.#events = new DomainEvents(ctx, { sessions: this.#sessions });
    const concat: Concatenation = concatenationOf(ctx, () => ({
      completion,
      events,
    }));
    const completion: Completion = new Completion(ctx, { events, concat });
    const commands = this.#commands = new FileCommands(ctx, {
      sessions: this.#sessions,
      events,
      completion,
    });
    const uploads = this.#uploads = new TusAccess(ctx, { commands, completion, concat });
    this.#creation = new TusCreation(ctx, { events, completion, concat, uploads });
    this.#patch = new TusPatch(ctx, { events, completion, uploads });
    this.#maintenance = new Maintenance(ctx, { events, commands, concat });
  }

  // ---------------------------------------------------------------- sessions

  createSession(
    category: Category,
    clientType: ClientType,
  ): Promise<Omit<CreateSessionResponse, "uploadUrl">> {
    return this.#sessions.createSession(category, clientType);
  }

  /** The principal of a bearer token (null header: anonymous, if allowed). */
  principal(token: string | null): Promise<Principal> {
    return this.#access.principal(token);
  }

  /** Resolves when `token` grants `sessionId` (null: no token was sent). */
  authorize(token: string | null, sessionId: string): Promise<void> {
    return this.#access.authorize(token, sessionId);
  }

  /** Every category's limits (`GET /api/categories`). */
  get categories(): ServiceConfig["categories"] {
    return this.#sessions.categories;
  }

  /** The session's category and its limits (`GET /api/sessions/:id`). */
  limitsOf(sessionId: string): Promise<{ category: Category; limits: CategoryLimits }> {
    return this.#sessions.limitsOf(sessionId);
  }

  snapshot(sessionId: string, current?: string): Promise<SessionSnapshot> {
    return this.#sessions.snapshot(sessionId, current);
  }

  // ---------------------------------------------------------------- file commands

  start(command: UploadStartEvent): Promise<SessionSnapshot> {
    return this.#commands.start(command);
  }

  pause(command: UploadPauseEvent): Promise<SessionSnapshot> {
    return this.#commands.pause(command);
  }

  resume(command: UploadResumeEvent): Promise<SessionSnapshot> {
    return this.#commands.resume(command);
  }

  cancel(command: UploadCancelEvent): Promise<SessionSnapshot> {
    return this.#commands.cancel(command);
  }

  cancelSession(sessionId: string, reason?: string): Promise<void> {
    return this.#commands.cancelSession(sessionId, reason);
  }

  // ---------------------------------------------------------------- tus

  createUpload(principal: Principal, input: CreateUploadInput): Promise<UploadRecord> {
    return this.#creation.createUpload(principal, input);
  }

  getUpload(principal: Principal, id: string): Promise<UploadRecord> {
    return this.#uploads.getUpload(principal, id);
  }

  expiresAt(upload: UploadRecord): Promise<number> {
    return this.#ctx.expiresAt(upload);
  }

  patch(
    principal: Principal,
    id: string,
    body: ReadableStream<Uint8Array>,
    input: PatchInput,
  ): Promise<UploadRecord> {
    return this.#patch.patch(principal, id, body, input);
  }

  terminate(principal: Principal, id: string): Promise<void> {
    return this.#uploads.terminate(principal, id);
  }

  progressOf(upload: UploadRecord): Promise<{ offset: number; size: number | null }> {
    return this.#uploads.progressOf(upload);
  }

  openDownload(principal: Principal, id: string, range?: { start: number; end: number }) {
    return this.#uploads.openDownload(principal, id, range);
  }

  // ---------------------------------------------------------------- maintenance

  recover(): Promise<void> {
    return this.#maintenance.recover();
  }

  sweep(): Promise<void> {
    return this.#maintenance.sweep();
  }

  /** What the service holds in memory, for tests and the soak bench: it must not only grow. */
  stateSizes(): { speedMeters: number; touchedSessions: number; activeWrites: number } {
    return {
      speedMeters: this.#ctx.speeds.size,
      touchedSessions: this.#ctx.touched.size,
      activeWrites: this.#ctx.inFlight.size,
    };
  }

  /** Stops every PATCH in flight (what arrived is committed) for a clean shutdown. */
  stopAll(): void {
    this.#ctx.inFlight.stopAll("shutdown");
  }

  /**
   * Stops hearing other nodes' stop requests (the channel itself is closed by whoever
   * opened it, after this). Call after stopAll() at shutdown.
   */
  close(): void {
    this.#ctx.close();
  }
}
