import type { HttpStack } from "./types.ts";

/**
 * An HttpStack over fetch (Deno tests, or a browser without upload progress needs):
 * no upload progress events; the Blob body is sent as is.
 */
export const fetchHttpStack: HttpStack = {
  async send(request) {
    const res = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body ?? null,
      signal: request.signal ?? null,
    });
    const text = await res.text();
    return { status: res.status, header: (name) => res.headers.get(name), text };
  },
};
