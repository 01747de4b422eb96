/**
 * The status sets, once, for the server (snapshot, throttle, service) and the widget (engine,
 * element, controller). A file's status on the wire is `FileStatus`; the widget adds its own
 * `queued` (not sent yet) and `retrying` (waiting out a backoff), never sent.
 */
import type { FileStatus } from "./events.ts";

export type AnyFileStatus = FileStatus | "queued" | "retrying";

type StatusSet = ReadonlySet<AnyFileStatus>;

/** Over for good: no byte will come and no command changes it (a failure may be retried). */
export const ENDED: StatusSet = new Set<AnyFileStatus>(["completed", "cancelled"]);

/** At rest until the client acts: ended, or failed. The throttle forgets such a file. */
export const SETTLED: StatusSet = new Set<AnyFileStatus>(["completed", "failed", "cancelled"]);

/** Bytes are on their way, or will be after a backoff. */
export const ACTIVE: StatusSet = new Set<AnyFileStatus>(["uploading", "retrying"]);

/** Wants to send bytes: waiting its turn, sending, or retrying. */
export const LIVE: StatusSet = new Set<AnyFileStatus>(["queued", "uploading", "retrying"]);

/** Not done yet: live, or paused. */
export const UNFINISHED: StatusSet = new Set<AnyFileStatus>([
  "queued",
  "uploading",
  "retrying",
  "paused",
]);

/** A resume command applies (a failure only when it is retryable: the caller checks). */
export const RESUMABLE: StatusSet = new Set<AnyFileStatus>(["paused", "failed"]);
