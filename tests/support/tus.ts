/**
 * The real tus-js-client. In Deno it resolves to its Node build, whose file reader takes a
 * Node `Buffer` or a `Readable` (an `fs.ReadStream` with a path is read as a file); a plain
 * Uint8Array is refused ("source object may only be an instance of Buffer or Readable").
 */
import { Buffer } from "node:buffer";
import * as tus from "tus-js-client";
import { within } from "./deadline.ts";

export type TusOptions = tus.UploadOptions;
export type TusSource = Buffer | import("node:fs").ReadStream;

/** A zero-copy Buffer view of `bytes`, the source type the Node build accepts. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface TusRun {
  upload: tus.Upload;
  /** Resolves with the upload URL on success, rejects with the client's error. */
  done: Promise<string>;
  /** Status of every response the client got, in order, with its method. */
  responses: { method: string; status: number }[];
}

/** Starts a tus upload; `done` settles with onSuccess / onError. */
export function startTus(source: TusSource, options: TusOptions): TusRun {
  const { promise, resolve, reject } = Promise.withResolvers<string>();
  const responses: { method: string; status: number }[] = [];
  const upload: tus.Upload = new tus.Upload(source, {
    // A failure must surface, not be retried behind the test's back.
    retryDelays: null,
    storeFingerprintForResuming: false,
    removeFingerprintOnSuccess: false,
    ...options,
    onAfterResponse: async (req, res) => {
      responses.push({ method: req.getMethod(), status: res.getStatus() });
      await options.onAfterResponse?.(req, res);
    },
    onSuccess: (payload) => {
      options.onSuccess?.(payload);
      if (upload.url) resolve(upload.url);
      else reject(new Error("tus-js-client succeeded without an upload URL"));
    },
    onError: (error) => {
      options.onError?.(error);
      reject(error);
    },
  });
  upload.start();
  return { upload, done: promise, responses };
}

/** Runs a tus upload to its end (bounded) and returns the upload URL. */
export async function runTus(
  source: TusSource,
  options: TusOptions,
  what = "tus-js-client upload",
  ms?: number,
): Promise<string> {
  return await within(startTus(source, options).done, what, ms);
}
