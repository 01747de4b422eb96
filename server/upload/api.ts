import type { Category, ClientType } from "../../protocol/events.ts";
import type { CategoryLimits, CreateSessionResponse } from "../../protocol/session.ts";
import type { ChecksumAlgorithm } from "../../protocol/tus.ts";
import type { UploadRecord } from "../state/store.ts";
import type { ReadResult } from "../storage/storage.ts";
import type { SessionCommands } from "./commands.ts";
import type { Principal } from "./principal.ts";

export interface CreateUploadInput {
  /** null with creation-defer-length. */
  length: number | null;
  metadata: Record<string, string>;
  rawMetadata: string;
  concat: { kind: "none" } | { kind: "partial" } | { kind: "final"; parts: string[] };
}

export interface PatchInput {
  offset: number;
  /** Content-Length, when the request has one. */
  contentLength: number | null;
  /** Upload-Length sent with a PATCH of a deferred-length upload. */
  uploadLength: number | null;
  checksum: { algorithm: ChecksumAlgorithm; digest: Uint8Array } | null;
}

/** Token checks, as the HTTP routes and the socket handshake ask them (auth/access.ts). */
export interface AccessApi {
  /** The principal of a bearer token; null (no header) is anonymous when that is allowed. */
  principal(token: string | null): Promise<Principal>;
  /**
   * Resolves when `token` grants `sessionId`; else INSUFFICIENT_PERMISSIONS / SESSION_NOT_FOUND.
   */
  authorize(token: string | null, sessionId: string): Promise<void>;
}

/** What the sessions routes (`/api/sessions`) and their HTTP file commands use. */
export interface SessionApi extends SessionCommands, AccessApi {
  authorize(token: string | null, sessionId: string): Promise<void>;
  createSession(
    category: Category,
    clientType: ClientType,
  ): Promise<Omit<CreateSessionResponse, "uploadUrl">>;
  limitsOf(sessionId: string): Promise<{ category: Category; limits: CategoryLimits }>;
  cancelSession(sessionId: string, reason?: string): Promise<void>;
}

/** What the tus routes (`/api/uploads`) use. */
export interface TusUploads extends AccessApi {
  createUpload(principal: Principal, input: CreateUploadInput): Promise<UploadRecord>;
  /** The upload as the principal may see it (HEAD, PATCH, DELETE, download). */
  getUpload(principal: Principal, id: string): Promise<UploadRecord>;
  /** When an unfinished upload expires: its session's expiry, or its own when anonymous. */
  expiresAt(upload: UploadRecord): Promise<number>;
  patch(
    principal: Principal,
    id: string,
    body: ReadableStream<Uint8Array>,
    input: PatchInput,
  ): Promise<UploadRecord>;
  /** tus termination: removes the upload and its bytes, finished or not. */
  terminate(principal: Principal, id: string): Promise<void>;
  /** Offset and length as tus HEAD reports them (a final waiting on parts: their sum). */
  progressOf(upload: UploadRecord): Promise<{ offset: number; size: number | null }>;
  /** A completed upload's bytes for its session's token holders. */
  openDownload(
    principal: Principal,
    id: string,
    range?: { start: number; end: number },
  ): Promise<{ upload: UploadRecord } & ReadResult>;
}

/** The HTTP app's view of the service: both route families and the category catalogue. */
export interface HttpApi extends SessionApi, TusUploads {
  authorize(token: string | null, sessionId: string): Promise<void>;
  readonly categories: Record<Category, CategoryLimits>;
}
