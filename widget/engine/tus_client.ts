/** A lean tus 1.0.0 client (creation, HEAD, PATCH, termination) over an injected HttpStack. */
import type { HttpRequest, HttpResponse, HttpStack } from "./types.ts";

/** A refused request (status and the server's error code) or a network failure (status 0). */
export class HttpError extends Error {
  status: number;
  code: string;
  /** `Upload-Offset` of the answer (409 and 423 carry it). */
  offset: number | null;

  constructor(status: number, code: string, message: string, offset: number | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.offset = offset;
  }
}

/** Sends `request`; any status >= 300 becomes an HttpError with the server's code. */
export async function send(http: HttpStack, request: HttpRequest): Promise<HttpResponse> {
  let res: HttpResponse;
  try {
    res = await http.send(request);
  } catch (error) {
    if (request.signal?.aborted) throw error;
    throw new HttpError(0, "NETWORK_ERROR", "Network error");
  }
  if (res.status < 300) return res;
  let body: { code?: string; message?: string } | undefined;
  try {
    body = JSON.parse(res.text).error;
  } catch {
    // not our JSON (a proxy's page)
  }
  const offset = res.header("Upload-Offset");
  throw new HttpError(
    res.status,
    body?.code ?? (res.status >= 500 ? "INTERNAL_ERROR" : "INVALID_REQUEST"),
    body?.message ?? `The server answered ${res.status}`,
    offset ? +offset : null,
  );
}

const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

export function encodeMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata).map(([k, v]) => `${k} ${base64(v)}`).join(",");
}

/** A header a tus answer must carry. */
function must(res: HttpResponse, name: string): string {
  const value = res.header(name);
  if (!value) throw new HttpError(0, "INTERNAL_ERROR", `The tus answer has no ${name}`);
  return value;
}

const offsetOf = (res: HttpResponse) => +must(res, "Upload-Offset");

export class TusClient {
  #http: HttpStack;
  #token: string;

  constructor(http: HttpStack, token: string) {
    this.#http = http;
    this.#token = token;
  }

  #send(
    method: HttpRequest["method"],
    url: string,
    headers: Record<string, string>,
    rest: Partial<HttpRequest> = {},
  ) {
    return send(this.#http, {
      method,
      url,
      headers: { "Tus-Resumable": "1.0.0", Authorization: `Bearer ${this.#token}`, ...headers },
      ...rest,
    });
  }

  /** tus creation; resolves with the absolute upload URL. */
  async create(
    endpoint: string,
    size: number,
    metadata: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.#send("POST", endpoint, {
      "Upload-Length": String(size),
      "Upload-Metadata": encodeMetadata(metadata),
    }, { signal });
    return new URL(must(res, "Location"), endpoint).href;
  }

  /** The server's offset of an upload. */
  async head(url: string, signal?: AbortSignal): Promise<number> {
    return offsetOf(await this.#send("HEAD", url, {}, { signal }));
  }

  /** Appends `body` at `offset`; resolves with the new offset. */
  async patch(
    url: string,
    body: Blob,
    offset: number,
    signal?: AbortSignal,
    onUploadProgress?: (sent: number) => void,
  ): Promise<number> {
    const rest: Partial<HttpRequest> = { body, signal };
    if (onUploadProgress) rest.onUploadProgress = onUploadProgress;
    return offsetOf(
      await this.#send("PATCH", url, {
        "Upload-Offset": String(offset),
        "Content-Type": "application/offset+octet-stream",
      }, rest),
    );
  }

  /** tus termination. */
  async terminate(url: string, signal?: AbortSignal): Promise<void> {
    await this.#send("DELETE", url, {}, { signal });
  }
}
