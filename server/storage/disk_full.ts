/**
 * Whether a storage failure means "no space left": ENOSPC or EDQUOT from the file system
 * (Deno puts the errno name in `code`), or SQLITE_FULL (13) from the state database that
 * shares the data folder. Looks through `cause` chains, since layers wrap what they catch.
 */
export function isDiskFull(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 8; depth++) {
    const { code, errcode } = e as { code?: unknown; errcode?: unknown };
    if (code === "ENOSPC" || code === "EDQUOT" || errcode === 13) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
