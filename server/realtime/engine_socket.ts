/**
 * A public Deno WebSocket dressed as the `ws` socket that engine.io's WebSocket transport
 * drives (send(data, cb), close(), events "message", "close", "error"), so the in-process
 * engine.io server serves it directly instead of through a second, loopback WebSocket
 * (ws_pipe.ts). Measured with 1,000 idle watchers: the loopback pair cost ~54 KiB per
 * watcher on top of the public socket, and every frame crossed two more event-loop turns.
 *
 * The same limits as the pipe's (socket_limits.ts): a message above `maxMessageBytes` closes
 * with 1009 and never reaches engine.io; more than `maxBufferedBytes` unsent closes with 1008.
 * And one the pipe had by accident: its loopback socket closed a flood once 1 MiB waited for
 * the internal server, before Socket.IO parsed much of it; in process every message is parsed
 * at once, so more than `maxBufferedBytes` received within a second closes with 1008 (a flood
 * of 60 KB events held 30-80 MB of parsed garbage before the event rate limit ended it).
 */
import { EventEmitter } from "node:events";
import { Buffer } from "node:buffer";
import { CLOSE, type SocketLimits } from "./socket_limits.ts";
import { closeCodeFor, truncateReason } from "./close_codes.ts";

type SendCallback = (error?: Error) => void;

export class EngineWebSocket extends EventEmitter {
  readonly #ws: WebSocket;
  readonly #limits: SocketLimits;
  readonly #onDone: () => void;
  #done = false;
  #attached = false;
  #closeEmitted = false;
  /** Bytes the peer may still send: refilled at `maxBufferedBytes` a second, up to that. */
  #inbound: number;
  #inboundAt = performance.now();

  /** `onOpen` hands the socket to engine.io; nothing reaches engine.io before it ran. */
  constructor(ws: WebSocket, limits: SocketLimits, onOpen: () => void, onDone: () => void) {
    super();
    this.#ws = ws;
    this.#limits = limits;
    this.#onDone = onDone;
    this.#inbound = limits.maxBufferedBytes;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.#attached = true;
      onOpen();
    };
    ws.onmessage = (e) => this.#receive(e.data);
    ws.onclose = (e) => {
      this.#finish();
      this.#emitClose(e.code, e.reason);
    };
    // An error on an open socket is followed by a close event; an upgrade that fails before
    // opening gets the error alone, and without this its count under the client's address
    // would stay forever.
    ws.onerror = () => {
      if (!this.#attached) this.#finish();
    };
  }

  /** engine.io calls the callback once the frame is handed on; the last one means "drained". */
  send(data: string | Uint8Array, callback?: SendCallback): void {
    if (this.#done || this.#ws.readyState !== WebSocket.OPEN) {
      // Closing: the close event that follows ends the transport; no error to report.
      return;
    }
    this.#ws.send(data);
    // No backpressure reaches the sender of a WebSocket: a peer that does not read makes
    // the sends pile up in the runtime, so the socket ends instead of holding them.
    if (this.#ws.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.close(CLOSE.SLOW_PEER.code, CLOSE.SLOW_PEER.reason);
      return;
    }
    // ws calls back after the write; Deno's send has queued it already. A microtask keeps
    // the callback asynchronous, as engine.io's flush loop expects.
    if (callback) queueMicrotask(() => callback());
  }

  close(code = 1000, reason = ""): void {
    this.#finish();
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
    const sendable = closeCodeFor(code, reason);
    if (sendable === null) ws.close();
    else ws.close(sendable.code, truncateReason(sendable.reason));
    // The runtime reports the close only once the peer answered it, and a peer that stopped
    // reading never does (its close frame waits behind the unsent bytes): engine.io hears
    // it now, as from the pipe's inner socket, so the session ends and its buffers go.
    queueMicrotask(() => this.#emitClose(sendable?.code ?? 1005, sendable?.reason ?? ""));
  }

  #emitClose(code: number, reason: string): void {
    if (!this.#attached || this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.emit("close", code, reason);
  }

  #receive(data: unknown): void {
    if (this.#done) return;
    if (typeof data === "string") {
      if (utf8Above(data, this.#limits.maxMessageBytes)) return this.#tooBig();
      if (this.#flooding(data.length)) return;
      this.emit("message", data, false);
    } else if (data instanceof ArrayBuffer) {
      if (data.byteLength > this.#limits.maxMessageBytes) return this.#tooBig();
      if (this.#flooding(data.byteLength)) return;
      this.emit("message", Buffer.from(data), true);
    }
  }

  #flooding(bytes: number): boolean {
    const max = this.#limits.maxBufferedBytes;
    const at = performance.now();
    this.#inbound = Math.min(max, this.#inbound + ((at - this.#inboundAt) * max) / 1000);
    this.#inboundAt = at;
    this.#inbound -= bytes;
    if (this.#inbound >= 0) return false;
    this.close(CLOSE.FLOOD.code, CLOSE.FLOOD.reason);
    return true;
  }

  #tooBig(): void {
    this.close(CLOSE.TOO_BIG.code, CLOSE.TOO_BIG.reason);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onDone();
  }
}

/**
 * Whether a string's UTF-8 size is above `max` (engine.io's maxHttpBufferSize counts bytes,
 * and nothing behind this socket counts again). Its UTF-16 length is a lower bound and three
 * times that an upper one, so most messages are decided without encoding; the others are
 * encoded into one reused buffer (a fresh copy per message cost a flood 30-90 MB of garbage).
 */
function utf8Above(data: string, max: number): boolean {
  if (data.length > max) return true;
  if (data.length * 3 <= max) return false;
  if (scratch.length !== max + 1) scratch = new Uint8Array(max + 1);
  // One byte past `max`: a string that does not fit, or fills it, is above.
  const { read, written } = encoder.encodeInto(data, scratch);
  return read < data.length || written > max;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(0);
