import type { UploadRecord, WriteCondition } from "./store.ts";

/** The record as stored: its `version` is the store's to keep, never the caller's. */
export function withoutVersion<T extends { version?: number }>(record: T): Omit<T, "version"> {
  const { version: _ignored, ...rest } = record;
  return rest;
}

/** Whether a write under `condition` may replace a record whose stored version is `current`
 * (0 when there is none). */
export function conditionHolds(current: number, condition?: WriteCondition): boolean {
  return condition?.ifVersion === undefined || condition.ifVersion === current;
}

/** Rejects a version no store could hold, so a typo does not read as "lost the race". */
export function checkCondition(condition?: WriteCondition): void {
  const v = condition?.ifVersion;
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
    throw new RangeError(`ifVersion must be a non-negative integer, got ${v}`);
  }
}

/** Uploads `listExpiredUploads` may return once their time has come: unfinished work, which
 * includes a finished partial no final has joined. */
export function isExpirable(upload: UploadRecord): boolean {
  return upload.status !== "completed" ||
    (upload.concat === "partial" && upload.consumedBy === undefined);
}
