/**
 * A shared engine that cannot be reached (clustered mode: Redis, an S3 endpoint) is an outage
 * of the infrastructure, not a bug of ours: requests answer `503` with a code a client retries
 * and `Retry-After` (RFC 9110 §10.2.3), and the node logs one line per outage instead of one
 * per request (a busy node would write thousands while Redis restarts).
 */
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from "redis";
import { AppError, toAppError } from "./errors.ts";

export type OutageCode = "STATE_UNAVAILABLE" | "STORAGE_UNAVAILABLE";

/** Seconds a client is asked to wait: node-redis retries its connection every 2 s at most. */
export const RETRY_AFTER_S = 2;

/** An outage is over, for the log, once no request has met it for this long. */
const QUIET_MS = 10_000;

/** node-redis: a command sent while the connection is down (no offline queue) or lost. */
const REDIS_DOWN = [
  ClientOfflineError,
  ClientClosedError,
  SocketClosedUnexpectedlyError,
  ConnectionTimeoutError,
  SocketTimeoutError,
  ReconnectStrategyError,
];

/** Socket errors of an HTTP client (the S3 SDK's node:http handler) that reached no one. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Which engine `error` (or an error in its causes) says is out of reach, if any. */
export function outageOf(error: unknown, depth = 0): OutageCode | null {
  if (depth > 8 || !(error instanceof Error)) return null;
  if (REDIS_DOWN.some((type) => error instanceof type)) return "STATE_UNAVAILABLE";
  if (isS3Unreachable(error)) return "STORAGE_UNAVAILABLE";
  const nested = error instanceof AggregateError ? [...error.errors, error.cause] : [error.cause];
  for (const inner of nested) {
    const found = outageOf(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

function isS3Unreachable(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  // The AWS SDK's errors carry `$metadata`; 503 SlowDown / ServiceUnavailable and its own
  // timeouts are the endpoint's state, not a refusal of the request.
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (!metadata) return false;
  return metadata.httpStatusCode === 503 || error.name === "TimeoutError";
}

const last = new Map<OutageCode, number>();

/**
 * The answer to `error` when it is an outage: a 503 with its code and `Retry-After`, logged
 * once per outage (its first request, or the first after `QUIET_MS` without one); else null.
 * A 4xx the service chose stays what it is, whatever caused it.
 */
export function outageAnswer(error: unknown, now = Date.now()): AppError | null {
  if (error instanceof AppError && error.status < 500) return null;
  const code = outageOf(error);
  if (!code) return null;
  const previous = last.get(code);
  last.set(code, now);
  if (previous === undefined || now - previous >= QUIET_MS) {
    console.error(
      `${code}: answering 503 until it is reachable again (logged once per outage):`,
      String(outageCauseOf(error) ?? error),
    );
  }
  return new AppError(code, undefined, {
    cause: error,
    headers: { "Retry-After": String(RETRY_AFTER_S) },
  });
}

function outageCauseOf(error: unknown, depth = 0): unknown {
  if (depth > 8 || !(error instanceof Error)) return null;
  if (error.cause === undefined || !outageOf(error.cause)) return error;
  return outageCauseOf(error.cause, depth + 1);
}

/**
 * The AppError an edge (HTTP, socket ack) answers for `error`; `ours` is called when it is our
 * own fault, to be logged: a thrown non-AppError or a 5xx that is not an outage.
 */
export function answerFor(error: unknown, ours: () => void): AppError {
  const outage = outageAnswer(error);
  if (outage) return outage;
  const appError = toAppError(error);
  if (appError !== error || appError.status >= 500) ours();
  return appError;
}
