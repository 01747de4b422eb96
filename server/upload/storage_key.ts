import type { UploadRecord } from "../state/store.ts";
import { extensionFor } from "./file_types.ts";

/**
 * The key fixed at creation: the upload's creation day, and the extension its declared
 * name or type gives (completion keeps it unless the content check found another type).
 */
export function stagedKey(upload: UploadRecord): string {
  return storageKey(upload, upload.createdAt);
}

/** `<category>/<yyyy>/<mm>/<dd>/<id><ext>` (issue #9: the object key is the `uploadPath`). */
export function storageKey(upload: UploadRecord, at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  const ext = upload.ext || extensionFor(upload.filetype);
  return `${upload.category ?? "anonymous"}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${
    pad(d.getUTCDate())
  }/${upload.id}${ext}`;
}
