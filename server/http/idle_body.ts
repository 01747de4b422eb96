/**
 * A request body that fails once its sender goes quiet: a client that stops mid-body would
 * otherwise hold the request (and its connection) for ever. Only for small bodies (JSON):
 * upload bodies have the same timer inside the storage's read loop, without an extra stream.
 */
import { AppError } from "../errors.ts";

export function idleBody(
  body: ReadableStream<Uint8Array>,
  idleTimeoutMs: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quiet = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new AppError(
                "CONNECTION_TIMEOUT",
                `The request body sent nothing for ${idleTimeoutMs} ms`,
                { headers: { Connection: "close" } },
              ),
            ),
          idleTimeoutMs,
        );
      });
      try {
        const next = await Promise.race([reader.read(), quiet]);
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        reader.cancel(error).catch(() => {});
        controller.error(error);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
