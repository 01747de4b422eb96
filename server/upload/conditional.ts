import { AppError } from "../errors.ts";
import type { SessionRecord, StateStore, UploadRecord } from "../state/store.ts";

/**
 * Conflicts in a row before a read-modify-write gives up. Each conflict means another node
 * wrote the record between our read and our write; under the item's lock that only happens
 * when a lease lapsed, so a few attempts are plenty and a loop that never ends is a bug.
 */
export const WRITE_ATTEMPTS = 8;

/**
 * What to write given the record as stored now; null keeps it. Called again with the newer
 * record after every conflict, so it decides from what is stored, never from a stale copy.
 */
export type Change<T> = (stored: T) => T | null | Promise<T | null>;

export interface Changed<T> {
  /** The record as stored afterwards (null: there is none). */
  record: T | null;
  /** True when this call's write happened. */
  changed: boolean;
}

interface Versioned {
  id: string;
  version?: number;
}

interface Table<T extends Versioned> {
  get(id: string): Promise<T | null>;
  put(record: T, ifVersion: number): Promise<boolean>;
}

/**
 * A conditional read-modify-write (issue #9: a writer whose lock lapsed must not overwrite
 * what another node wrote since its read). `base`, when it carries its version, is tried
 * first without a read; on a conflict the record is read again and `change` decides again.
 */
export async function rewrite<T extends Versioned>(
  table: Table<T>,
  id: string,
  change: Change<T>,
  base?: T | null,
): Promise<Changed<T>> {
  let stored = base?.version !== undefined ? base : await table.get(id);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    if (!stored) return { record: null, changed: false };
    const next = await change(stored);
    if (!next) return { record: stored, changed: false };
    const version = stored.version ?? 0;
    if (await table.put(next, version)) {
      return { record: { ...next, version: version + 1 }, changed: true };
    }
    stored = await table.get(id);
  }
  throw new AppError(
    "UPLOAD_LOCKED",
    `"${id}" kept changing under ${WRITE_ATTEMPTS} writes in a row; retry later`,
    { headers: { "Retry-After": "1" } },
  );
}

export function uploadTable(store: StateStore): Table<UploadRecord> {
  return {
    get: (id) => store.getUpload(id),
    put: (record, ifVersion) => store.putUpload(record, { ifVersion }),
  };
}

export function sessionTable(store: StateStore): Table<SessionRecord> {
  return {
    get: (id) => store.getSession(id),
    put: (record, ifVersion) => store.putSession(record, { ifVersion }),
  };
}
