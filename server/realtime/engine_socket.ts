/**
 * A public Deno WebSocket dressed as the `ws` socket that engine.io's WebSocket transport
 * drives (send(data, cb), close(), events "message", "close", "error"), so the in-process
 * engine.io server serves it directly instead of through a second, loopback WebSocket
 * (ws_pipe.ts). Measured with 1,000 idle watchers: the loopback pair cost ~54 KiB per
 * watcher on top of the public socket, and every frame crossed two more event-loop turns.
 *
 * The same limits as the pipe's (socket_limits.ts): a message above `maxMessageBytes` closes
 * with 1009 and never reaches engine.io; more than `maxBufferedBytes` unsent closes with 1008.
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

  /** `onOpen` hands the socket to engine.io; nothing reaches engine.io before it ran. */
  constructor(ws: WebSocket, limits: SocketLimits, onOpen: () => void, onDone: () => void) {
    super();
    this.#ws = ws;
    this.#limits = limits;
    this.#onDone = onDone;
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
      this.emit("message", data, false);
    } else if (data instanceof ArrayBuffer) {
      if (data.byteLength > this.#limits.maxMessageBytes) return this.#tooBig();
      this.emit("message", Buffer.from(data), true);
    }
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
 * times that an upper one, so most messages are decided without encoding.
 */
function utf8Above(data: string, max: number): boolean {
  if (data.length > max) return true;
  if (data.length * 3 <= max) return false;
  return new TextEncoder().encode(data).byteLength > max;
}
