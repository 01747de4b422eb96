/**
 * Stop requests for PATCHes in flight, heard by every node: a pause or cancel handled by
 * one node must end the PATCH that another node is writing (issue #9: within 3 s). Each
 * node listens and ends the upload's PATCH if it runs it; the others ignore the request.
 * Delivery is best effort (pub/sub): the lock's release request and lease are the backstop.
 */
export interface StopChannel<R extends string = string> {
  /** Publishes to every listener of every node, this node's own included. */
  request(uploadId: string, reason: R): Promise<void>;
  /** Hears every request from now on; returns the unsubscribe function. */
  listen(handler: (uploadId: string, reason: R) => void): () => void;
  close(): Promise<void>;
}

/** The wire form of a request; anything else heard on the channel is ignored. */
export function encodeStop(uploadId: string, reason: string): string {
  return JSON.stringify({ uploadId, reason });
}

export function decodeStop(message: string): { uploadId: string; reason: string } | null {
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed !== "object" || parsed === null) return null;
    const { uploadId, reason } = parsed as Record<string, unknown>;
    if (typeof uploadId !== "string" || typeof reason !== "string") return null;
    return { uploadId, reason };
  } catch {
    return null;
  }
}

/** Calls every handler, each in its own try: one failing listener must not starve the rest. */
export function deliver<R extends string>(
  handlers: Iterable<(uploadId: string, reason: R) => void>,
  uploadId: string,
  reason: R,
): void {
  for (const handler of [...handlers]) {
    try {
      handler(uploadId, reason);
    } catch (error) {
      console.error("A stop request listener failed:", error);
    }
  }
}
