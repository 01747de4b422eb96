import type { CategoryLimits } from "../../protocol/session.ts";
import { AppError } from "../errors.ts";
import type { SessionRecord, UploadRecord } from "../state/store.ts";
import { isFinalFailure } from "./snapshot.ts";

/**
 * Partial uploads (tus concatenation) not yet joined are pieces of files to come. tus-js-client
 * cuts one file into `parallelUploads` pieces (a handful); 64 per file is generous and still
 * keeps one session from piling up records.
 */
export const MAX_PARTIALS_PER_FILE = 64;

/** Cancelled and refused files free their place in the session's file limit. */
export function countsTowardLimit(upload: UploadRecord): boolean {
  return upload.status !== "cancelled" && !isFinalFailure(upload);
}

/** A partial that still holds bytes (or will) and no final has taken yet. */
export function isOpenPartial(upload: UploadRecord): boolean {
  return upload.concat === "partial" && upload.consumedBy === undefined &&
    countsTowardLimit(upload);
}

/**
 * Files a session holds: one per upload that is a file (plain or final) and per file announced
 * by `upload-start` but not created; open partials count as the files they can make up, by
 * bytes (a deferred length counts as a whole `maxFileSize`) and by number, and may fill the
 * places of announced files (tus-js-client sends the metadata with the final only).
 */
export function filesHeld(
  uploads: UploadRecord[],
  announced: readonly string[],
  maxFileSize: number,
  consuming: ReadonlySet<string> = new Set(),
): number {
  const files = new Set<string>();
  for (const u of uploads) if (u.concat !== "partial" && countsTowardLimit(u)) files.add(u.id);
  const waiting = announced.filter((id) => !files.has(id)).length;
  const open = uploads.filter((u) => isOpenPartial(u) && !consuming.has(u.id));
  const bytes = open.reduce((sum, u) => sum + (u.size ?? maxFileSize), 0);
  const pieces = open.length === 0 ? 0 : Math.max(
    1,
    Math.ceil(bytes / Math.max(1, maxFileSize)),
    Math.ceil(open.length / MAX_PARTIALS_PER_FILE),
  );
  return files.size + Math.max(waiting, pieces);
}

/** Refuses `candidate` (TOO_MANY_FILES) when the session would hold more than `maxFiles`. */
export function checkFileQuota(
  session: SessionRecord,
  uploads: UploadRecord[],
  candidate: UploadRecord,
  limits: CategoryLimits,
  consuming: ReadonlySet<string> = new Set(),
): void {
  const before = filesHeld(uploads, session.announcedFileIds, limits.maxFileSize);
  const after = filesHeld(
    [...uploads.filter((u) => u.id !== candidate.id), candidate],
    session.announcedFileIds,
    limits.maxFileSize,
    consuming,
  );
  // Only growth is refused: a file announced by upload-start already has its place.
  if (after > before && after > limits.maxFiles) {
    throw new AppError(
      "TOO_MANY_FILES",
      candidate.concat === "partial"
        ? `Cannot add a partial upload: with the open partials the session would hold ${after} files, over its ${limits.maxFiles}`
        : `Cannot add "${candidate.filename}": the session allows ${limits.maxFiles} files`,
    );
  }
}
