import type { Category, ClientType } from "../../protocol/events.ts";
import type {
  CategoryLimits,
  CreateSessionResponse,
  SessionSnapshot,
} from "../../protocol/session.ts";
import type { SessionRecord, UploadRecord } from "../state/store.ts";
import { buildSnapshot } from "./snapshot.ts";
import type { ServiceConfig, UploadContext } from "./context.ts";

/** Sessions: creation with their token, limits, snapshots (the read side of a session). */
export class Sessions {
  #ctx: UploadContext;

  constructor(ctx: UploadContext) {
    this.#ctx = ctx;
  }

  async createSession(
    category: Category,
    clientType: ClientType,
  ): Promise<Omit<CreateSessionResponse, "uploadUrl">> {
    const now = this.#ctx.now();
    const session: SessionRecord = {
      id: crypto.randomUUID(),
      category,
      clientType,
      status: "active",
      createdAt: now,
      lastActivity: now,
      expiresAt: now + this.#ctx.config.sessionTimeoutMs,
      announcedFileIds: [],
      endedAt: null,
    };
    // Only if absent: a random id, but a second node must never replace a session.
    if (!(await this.#ctx.store.putSession(session, { ifVersion: 0 }))) {
      throw new Error(`Session id ${session.id} is already taken`);
    }
    const token = await this.#ctx.tokens.sign({
      sessionId: session.id,
      expiresAt: now + this.#ctx.config.tokenTtlMs,
    });
    return {
      sessionId: session.id,
      token,
      expiresAt: new Date(session.expiresAt).toISOString(),
      limits: this.#ctx.config.categories[category],
    };
  }

  /** Every category's limits (`GET /api/categories`). */
  get categories(): ServiceConfig["categories"] {
    return this.#ctx.config.categories;
  }

  /** The session's category and its limits (`GET /api/sessions/:id`). */
  async limitsOf(sessionId: string): Promise<{ category: Category; limits: CategoryLimits }> {
    const { category } = await this.#ctx.session(sessionId);
    return { category, limits: this.#ctx.config.categories[category] };
  }

  async snapshot(sessionId: string, current?: string): Promise<SessionSnapshot> {
    const session = await this.#ctx.session(sessionId);
    const uploads = await this.#ctx.store.listUploads(sessionId);
    const options: Parameters<typeof buildSnapshot>[2] = {
      now: this.#ctx.now(),
      speeds: speedsOf(uploads, this.#ctx.speeds.snapshot()),
    };
    if (current !== undefined) options.current = current;
    return buildSnapshot(session, uploads, options);
  }
}

/** This node's meters, else the speed the writer (maybe another node) stored at its checkpoint. */
function speedsOf(uploads: UploadRecord[], mine: ReadonlyMap<string, number>) {
  const speeds = new Map(mine);
  for (const u of uploads) {
    if (!speeds.has(u.id) && u.speed !== undefined) speeds.set(u.id, u.speed);
  }
  return speeds;
}
