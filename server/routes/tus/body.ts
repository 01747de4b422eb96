/**
 * Whether a request has a body. RFC 9112 §6.3: with neither Content-Length nor
 * Transfer-Encoding the body is empty, yet Deno hands such a request a non-null (empty)
 * stream, and a Request built in-process has a body without either header. So when the length
 * is not declared, the first chunk decides: none means no body. Returns the body to read
 * (the peeked chunk first), or null.
 */
export async function presentBody(
  request: Request,
  contentLength: number | null,
): Promise<ReadableStream<Uint8Array> | null> {
  const body = request.body;
  if (body === null) return null;
  if (contentLength !== null) return contentLength > 0 ? body : null;
  const reader = body.getReader();
  let first = await reader.read();
  while (!first.done && first.value.byteLength === 0) first = await reader.read();
  if (first.done) {
    reader.releaseLock();
    return null;
  }
  let pending: Uint8Array | null = first.value;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending) {
        controller.enqueue(pending);
        pending = null;
        return;
      }
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
