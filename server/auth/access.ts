import { AppError } from "../errors.ts";
import type { UploadRecord } from "../state/store.ts";
import type { Principal } from "../upload/principal.ts";
import type { TokenSigner } from "./token.ts";

export interface AccessDeps {
  tokens: TokenSigner;
  /** H5_ALLOW_ANONYMOUS: a request without a token is the anonymous principal. */
  allowAnonymous: boolean;
  /** Throws SESSION_NOT_FOUND when the session does not exist. */
  session(id: string): Promise<unknown>;
}

/**
 * Every access decision: token to principal, token to session (HTTP routes and socket
 * handshakes alike), principal to session and to upload. One place, so the HTTP and socket
 * paths refuse alike, with the same codes and messages.
 */
export class SessionAccess {
  #tokens: TokenSigner;
  #allowAnonymous: boolean;
  #session: (id: string) => Promise<unknown>;

  constructor(deps: AccessDeps) {
    this.#tokens = deps.tokens;
    this.#allowAnonymous = deps.allowAnonymous;
    this.#session = deps.session;
  }

  /** The principal of a bearer token (null header: anonymous, if allowed). */
  async principal(token: string | null): Promise<Principal> {
    if (token === null) {
      if (this.#allowAnonymous) return { kind: "anonymous" };
      throw tokenRequired();
    }
    const claims = await this.#tokens.verify(token);
    if (!claims) {
      throw new AppError("INSUFFICIENT_PERMISSIONS", "The session token is invalid or expired");
    }
    return { kind: "session", sessionId: claims.sessionId };
  }

  /** Resolves when `token` grants `sessionId` and the session exists (null: no token sent). */
  async authorize(token: string | null, sessionId: string): Promise<void> {
    if (token === null) throw tokenRequired();
    const claims = await this.#tokens.verify(token);
    if (!claims || claims.sessionId !== sessionId) throw notGranted("session", sessionId);
    await this.#session(sessionId);
  }
}

/** A session's own uploads: a principal may name only its own session. */
export function checkSessionGrant(principal: Principal, sessionId: string | undefined): void {
  if (principal.kind !== "session") return;
  if (sessionId !== undefined && sessionId !== principal.sessionId) {
    throw notGranted("session", sessionId);
  }
}

/** An upload belongs to one session, or to the anonymous principal when it has none. */
export function checkUploadGrant(principal: Principal, upload: UploadRecord): void {
  const owner = upload.sessionId;
  if (principal.kind === "anonymous" ? owner !== null : owner !== principal.sessionId) {
    throw notGranted("upload", upload.id);
  }
}

function tokenRequired(): AppError {
  return new AppError(
    "INSUFFICIENT_PERMISSIONS",
    "A session token is required (Authorization: Bearer)",
  );
}

function notGranted(what: "session" | "upload", id: string): AppError {
  return new AppError(
    "INSUFFICIENT_PERMISSIONS",
    `The token does not grant access to ${what} "${id}"`,
  );
}
