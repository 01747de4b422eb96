/**
 * One public WebSocket piped to one internal WebSocket, frame by frame (engine.io packets).
 *
 * Limits (socket_limits.ts), because the public side is anyone's: a message above
 * `maxMessageBytes` closes the public socket with 1009 and is never forwarded; a side that
 * leaves more than `maxBufferedBytes` unsent closes both (1008). Deno assembles a whole
 * message before `onmessage` (Deno.upgradeWebSocket has no size option, denoland/deno#15809),
 * so the size check runs after the runtime buffered it: see README, "Real-time limits".
 */
import { CLOSE, type SocketLimits } from "./socket_limits.ts";
import { closeCodeFor, truncateReason as truncate } from "./close_codes.ts";

type Frame = string | ArrayBuffer;

// Frames a client may send before the internal socket is open; engine.io sends one probe
// and waits, so anything beyond this is not a socket.io client.
const MAX_PENDING_FRAMES = 64;

// deno.json also loads the "dom" lib, whose WebSocket constructor hides Deno's overload
// taking handshake headers.
const DenoWebSocket = WebSocket as unknown as new (
  url: string,
  options: { headers: HeadersInit },
) => WebSocket;

export class WebSocketPipe {
  readonly response: Response;
  readonly #outer: WebSocket;
  readonly #inner: WebSocket;
  readonly #toInner: Frame[] = [];
  readonly #toOuter: Frame[] = [];
  readonly #limits: SocketLimits;
  readonly #onDone: () => void;
  #done = false;
  #outerCloseWhenOpen: { code: number; reason: string } | null = null;

  constructor(
    req: Request,
    innerUrl: string,
    headers: Headers,
    limits: SocketLimits,
    onDone: () => void,
  ) {
    this.#limits = limits;
    this.#onDone = onDone;
    const { socket, response } = Deno.upgradeWebSocket(req);
    this.response = response;
    this.#outer = socket;
    this.#inner = new DenoWebSocket(innerUrl, { headers });
    for (const ws of [this.#outer, this.#inner]) ws.binaryType = "arraybuffer";

    this.#outer.onopen = () => {
      this.#drain(this.#outer, this.#toOuter);
      const pending = this.#outerCloseWhenOpen;
      if (pending !== null) this.#closeOuter(pending.code, pending.reason);
    };
    this.#inner.onopen = () => this.#drain(this.#inner, this.#toInner);
    this.#outer.onmessage = (e) => {
      if (sizeAbove(e.data, this.#limits.maxMessageBytes)) {
        return this.close(CLOSE.TOO_BIG.code, CLOSE.TOO_BIG.reason);
      }
      this.#forward(this.#inner, this.#toInner, e.data);
    };
    this.#inner.onmessage = (e) => this.#forward(this.#outer, this.#toOuter, e.data);
    this.#outer.onclose = (e) => this.#closeInner(e.code, e.reason);
    this.#inner.onclose = (e) => this.#closeOuter(e.code, e.reason);
    // An error on an open socket is followed by a close event, which carries it to the other
    // side; an upgrade that fails before opening gets the error alone, and without this the
    // pipe (and its count under the client's address) would stay forever.
    this.#outer.onerror = () => this.#closeInner(1011, "public socket failed");
    this.#inner.onerror = () => {};
  }

  close(code: number, reason: string): void {
    this.#closeOuter(code, reason);
    this.#closeInner(code, reason);
  }

  #forward(to: WebSocket, queue: Frame[], data: unknown): void {
    if (this.#done) return;
    if (typeof data !== "string" && !(data instanceof ArrayBuffer)) return;
    if (to.readyState === WebSocket.OPEN) {
      to.send(data);
      // No backpressure reaches the sender of a WebSocket: a side that does not read makes
      // the other's sends pile up here, so the pipe ends instead of holding them.
      if (to.bufferedAmount > this.#limits.maxBufferedBytes) {
        this.close(CLOSE.SLOW_PEER.code, CLOSE.SLOW_PEER.reason);
      }
    } else if (to.readyState === WebSocket.CONNECTING) {
      if (queue.length >= MAX_PENDING_FRAMES) return this.close(1008, "too many early frames");
      queue.push(data);
    }
  }

  #drain(ws: WebSocket, queue: Frame[]): void {
    for (const frame of queue.splice(0)) ws.send(frame);
  }

  #closeInner(code: number, reason: string): void {
    this.#finish();
    const ws = this.#inner;
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
    // A client socket may only send 1000 or 3000-4999 (WHATWG); engine.io ignores the code.
    if (code === 1000 || (code >= 3000 && code <= 4999)) ws.close(code, truncate(reason));
    else ws.close(1000, truncate(reason));
  }

  #closeOuter(code: number, reason: string): void {
    this.#finish();
    const ws = this.#outer;
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
    if (ws.readyState === WebSocket.CONNECTING) {
      // The upgrade response is not sent yet: deliver what the inner side sent, then close.
      this.#outerCloseWhenOpen = { code, reason };
      return;
    }
    const sendable = closeCodeFor(code, reason);
    if (sendable === null) ws.close();
    else ws.close(sendable.code, truncate(sendable.reason));
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#toInner.length = 0;
    this.#onDone();
  }
}

/**
 * Whether a message is above `max` bytes. A string's UTF-8 size is at least its UTF-16
 * length, so `length > max` is exact for the refusal; a shorter string that still encodes
 * above `max` is refused by the internal server's own maxHttpBufferSize.
 */
function sizeAbove(data: unknown, max: number): boolean {
  if (typeof data === "string") return data.length > max;
  if (data instanceof ArrayBuffer) return data.byteLength > max;
  return false;
}
