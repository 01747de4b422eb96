/** Raw HTTP/1.1 over `Deno.connect`, for framing fetch will not produce (chunked, slow, stalled). */
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export class RawConnection {
  readonly conn: Deno.TcpConn;
  #text = "";
  #closed = false;
  readonly #reading: Promise<void>;
  #waiters: (() => void)[] = [];

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#reading = (async () => {
      const decoder = new TextDecoder();
      const buffer = new Uint8Array(16 * 1024);
      try {
        for (;;) {
          const n = await conn.read(buffer);
          if (n === null) break;
          this.#text += decoder.decode(buffer.subarray(0, n), { stream: true });
          this.#wake();
        }
      } catch {
        // reset by the peer: same as closed for these tests
      }
      this.#closed = true;
      this.#wake();
    })();
  }

  /** Connects to `url`'s host; the scope closes the socket at the end. */
  static async open(scope: Scope, url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const conn = await Deno.connect({ hostname, port: Number(port) });
    const raw = new RawConnection(conn);
    scope.defer("close a raw connection", () => raw.close());
    return raw;
  }

  /** Everything received so far. */
  get received(): string {
    return this.#text;
  }

  /** True once the server closed (or reset) the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  async write(text: string | Uint8Array): Promise<void> {
    let bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    while (bytes.byteLength > 0) bytes = bytes.subarray(await this.conn.write(bytes));
  }

  /** Resolves once the server closed the connection (bounded by `within`). */
  async untilClosed(what: string, ms?: number): Promise<void> {
    await within(this.#until(() => this.#closed), what, ms);
  }

  /** The first complete response (headers plus a Content-Length body). */
  async answer(what: string, ms?: number): Promise<RawAnswer> {
    let parsed: RawAnswer | null = null;
    await within(
      this.#until(() => (parsed = parseAnswer(this.#text)) !== null || this.#closed),
      what,
      ms,
    );
    if (parsed === null) parsed = parseAnswer(this.#text);
    if (parsed === null) {
      throw new Error(`${what}: the connection closed without a response (${this.#text})`);
    }
    return parsed;
  }

  close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    return this.#reading;
  }

  #until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) resolve();
        else this.#waiters.push(check);
      };
      check();
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

function parseAnswer(text: string): RawAnswer | null {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? "0");
  const body = text.slice(end + 4);
  if (new TextEncoder().encode(body).byteLength < length) return null;
  return { status: Number(statusLine!.split(" ")[1]), headers, body: body.slice(0, length) };
}
