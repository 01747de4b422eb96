import type { UploadRecord } from "../state/store.ts";

/** The record without the mark of a PATCH in progress (`UploadRecord.writing`). */
export function doneWriting(upload: UploadRecord): UploadRecord {
  const { writing: _, ...rest } = upload;
  return rest;
}
