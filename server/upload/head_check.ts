import type { UploadRecord } from "../state/store.ts";
import type { HeadCheck } from "../storage/storage.ts";
import { checkContent, type CheckedType, SNIFF_BYTES } from "./content_check.ts";
import type { ServiceConfig } from "./context.ts";

/**
 * The content check of a PATCH, run by the storage on the part's first bytes as they pass
 * (issue #9: S3 cannot read an unfinished part back). `found` holds what the bytes are once
 * the check ran and passed, for the next commit to store. Null when no check is due: the
 * type was checked already, the upload has no category, or this write starts past the head.
 */
export function headCheckFor(
  upload: UploadRecord,
  start: number,
  config: Pick<ServiceConfig, "categories">,
): { head: HeadCheck; found(): CheckedType | null } | null {
  if (upload.typeChecked || !upload.category) return null;
  // With a known length the last write always reaches `bytes`, so a small file is checked.
  const bytes = Math.min(SNIFF_BYTES, upload.size ?? SNIFF_BYTES);
  if (bytes <= 0 || start >= bytes) return null;
  const allowed = config.categories[upload.category].allowedTypes;
  let found: CheckedType | null = null;
  return {
    head: {
      bytes,
      check: async (head) => {
        found = await checkContent(head, upload.filetype, allowed);
        return found !== null;
      },
    },
    found: () => found,
  };
}
