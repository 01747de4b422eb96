import type { HttpStack } from "./types.ts";

/**
 * An HttpStack over XMLHttpRequest, for browsers: upload progress events, abort through
 * the signal (an AbortError), a network failure as a TypeError. Never used under Deno.
 */
export const xhrHttpStack: HttpStack = {
  send(request) {
    return new Promise((resolve, reject) => {
      const { signal, onUploadProgress } = request;
      const aborted = () => new DOMException("The request was aborted", "AbortError");
      if (signal?.aborted) return reject(aborted());
      const xhr = new XMLHttpRequest();
      const abort = () => xhr.abort();
      const done = () => signal?.removeEventListener("abort", abort);
      xhr.open(request.method, request.url);
      for (const [name, value] of Object.entries(request.headers)) {
        xhr.setRequestHeader(name, value);
      }
      if (onUploadProgress) xhr.upload.onprogress = (e) => onUploadProgress(e.loaded);
      xhr.onload = () => {
        done();
        resolve({
          status: xhr.status,
          header: (name) => xhr.getResponseHeader(name),
          text: xhr.responseText,
        });
      };
      xhr.onerror = xhr.ontimeout = () => {
        done();
        reject(new TypeError("Network request failed"));
      };
      xhr.onabort = () => {
        done();
        reject(aborted());
      };
      signal?.addEventListener("abort", abort);
      xhr.send(request.body ?? null);
    });
  },
};
