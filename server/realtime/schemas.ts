import * as v from "valibot";
import { CATEGORIES, CLIENT_TYPES } from "../../protocol/events.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import { AppError } from "../errors.ts";

// Bounds keep a 64 KiB frame from carrying arbitrarily many or long strings into the service.
const MAX_ID = 200;
const MAX_REASON = 500;
const MAX_FILE_IDS = 1000;

const SessionId = v.pipe(v.string(), v.uuid("sessionId must be a UUID"));
const FileId = v.pipe(v.string(), v.minLength(1, "fileId is empty"), v.maxLength(MAX_ID));
const Reason = v.pipe(v.string(), v.maxLength(MAX_REASON));
const Token = v.pipe(v.string(), v.minLength(1), v.maxLength(4096));

export const HandshakeQuery = v.object({
  sessionId: SessionId,
  clientType: v.picklist(CLIENT_TYPES, 'clientType must be "web" or "mobile"'),
});
export const HandshakeAuth = v.object({ token: Token });

// Addition: how many reconnection attempts brought the client back (Socket.IO's
// `reconnect_attempt` count). In `auth` a number; a query string carries it as digits.
const MAX_ATTEMPTS = 1_000_000;
export const HandshakeReconnect = v.object({
  reconnectAttempts: v.optional(
    v.union([
      v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_ATTEMPTS)),
      v.pipe(v.string(), v.regex(/^\d{1,7}$/), v.transform(Number), v.maxValue(MAX_ATTEMPTS)),
    ], `an integer from 0 to ${MAX_ATTEMPTS} is expected`),
    0,
  ),
});

/** `auth.reconnectAttempts`, else `query.reconnectAttempts`; absent means a first connect. */
export function reconnectAttemptsOf(auth: unknown, query: unknown): number {
  const fromAuth = (auth as Record<string, unknown> | null)?.reconnectAttempts;
  const value = fromAuth ?? (query as Record<string, unknown> | null)?.reconnectAttempts;
  return parse(HandshakeReconnect, { reconnectAttempts: value }).reconnectAttempts;
}

/** The optional JSON body of the HTTP file commands (pause, resume, cancel). */
export const FileCommandBody = v.object({ reason: v.optional(Reason) });

/** Spec: the session id itself. Addition: `{sessionId, token}` to join another session. */
export const JoinSession = v.union([
  SessionId,
  v.object({ sessionId: SessionId, token: v.optional(Token) }),
]);
export const LeaveSession = v.union([SessionId, v.object({ sessionId: SessionId })]);

export const UploadStart = v.object({
  sessionId: SessionId,
  fileIds: v.pipe(v.array(FileId), v.maxLength(MAX_FILE_IDS)),
  category: v.picklist(CATEGORIES, 'category must be "personal" or "scenic"'),
});
export const UploadProgress = v.object({
  sessionId: SessionId,
  fileId: FileId,
  progress: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100))),
  requestUpdate: v.optional(v.boolean()),
});
export const UploadPause = v.object({
  sessionId: SessionId,
  fileId: v.optional(FileId),
  reason: v.optional(Reason),
});
export const UploadResume = v.object({ sessionId: SessionId, fileId: v.optional(FileId) });
export const UploadCancel = UploadPause;

/** Parses or throws the AppError a client gets back (INVALID_REQUEST unless told otherwise). */
export function parse<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  code: ErrorCode = "INVALID_REQUEST",
): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const details = result.issues
    .slice(0, 5)
    .map((issue) => {
      const path = v.getDotPath(issue);
      return path === null ? issue.message : `${path}: ${issue.message}`;
    })
    .join("; ");
  // The message echoes client input at most; truncated so an error frame stays small.
  throw new AppError(code, undefined, { details: details.slice(0, 300) });
}
