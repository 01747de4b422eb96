/** A request body passed through while it streams, failing once it exceeds a byte cap. */
export interface CappedBody {
  stream: ReadableStream<Uint8Array>;
  /** Whether the stream failed because the body went over the cap. */
  exceeded(): boolean;
}

export function capBody(body: ReadableStream<Uint8Array>, maxBytes: number): CappedBody {
  let seen = 0;
  let over = false;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          over = true;
          // Erroring cancels the source: nothing past the cap is read or held.
          controller.error(new RangeError(`body above ${maxBytes} bytes`));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return { stream, exceeded: () => over };
}
