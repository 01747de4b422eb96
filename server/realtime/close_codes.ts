/** Close codes and reasons as a public WebSocket may send them (RFC 6455 §7.4). */

/**
 * The code and reason to close a public socket with, for a close that started with `code`
 * (from engine.io, the inner socket or the hop): null means "no code" (1005 was received).
 */
export function closeCodeFor(
  code: number,
  reason: string,
): { code: number; reason: string } | null {
  if (code === 1005) return null;
  // 1006/1015 are never sent on the wire; an abnormal inner end is an internal error here.
  if (code === 1006 || code === 1015 || !isSendable(code)) {
    return { code: 1011, reason: "upstream closed" };
  }
  return { code, reason };
}

export function isSendable(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** Close reasons are limited to 123 UTF-8 bytes. */
export function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  return new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, "");
}
