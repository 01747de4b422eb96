/**
 * A JSON-only `socket.io-parser` (Socket.IO protocol 5) that the bundle uses instead of
 * the full one: our events never carry binary, and the binary (de)construction is a
 * tenth of the widget's budget. The wire format of text packets is unchanged:
 * `<type>[<namespace>,][<ack id>][<JSON>]`. A binary packet is refused (the manager
 * closes the connection with "parse error", and the engine falls back to polling).
 */

export const protocol = 5;

export const PacketType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
} as const;

export interface Packet {
  type: number;
  nsp: string;
  id?: number;
  data?: unknown;
}

const RESERVED = [
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
];

export class Encoder {
  encode(packet: Packet): string[] {
    return [
      `${packet.type}${packet.nsp && packet.nsp !== "/" ? packet.nsp + "," : ""}${packet.id ?? ""}${
        packet.data == null ? "" : JSON.stringify(packet.data)
      }`,
    ];
  }
}

const isObject = (v: unknown) => Object.prototype.toString.call(v) === "[object Object]";

/** The payload rules of socket.io-parser's `Decoder.isPayloadValid`. */
function valid(type: number, data: unknown): boolean {
  return type === PacketType.CONNECT
    ? isObject(data)
    : type === PacketType.DISCONNECT
    ? data === undefined
    : type === PacketType.CONNECT_ERROR
    ? typeof data === "string" || isObject(data)
    : Array.isArray(data) &&
      (type === PacketType.ACK || typeof data[0] === "number" ||
        (typeof data[0] === "string" && !RESERVED.includes(data[0])));
}

export class Decoder {
  #listeners: ((packet: Packet) => void)[] = [];

  on(_event: "decoded", listener: (packet: Packet) => void): this {
    this.#listeners.push(listener);
    return this;
  }

  off(_event?: "decoded", listener?: (packet: Packet) => void): this {
    this.#listeners = listener ? this.#listeners.filter((l) => l !== listener) : [];
    return this;
  }

  /** Decodes one text packet and emits `decoded`; throws on anything else. */
  add(chunk: unknown): void {
    const match = typeof chunk === "string"
      ? /^([0-4])(?:(\/[^,]*),?)?(\d*)([\s\S]*)$/.exec(chunk)
      : null;
    if (!match) throw new Error(`Unsupported packet: ${String(chunk).slice(0, 20)}`);
    const type = Number(match[1]);
    const packet: Packet = { type, nsp: match[2] ?? "/" };
    if (match[3]) packet.id = Number(match[3]);
    if (match[4]) {
      // As socket.io-parser: a payload is checked, a missing one is not.
      packet.data = JSON.parse(match[4]);
      if (!valid(type, packet.data)) throw new Error("invalid payload");
    }
    for (const listener of this.#listeners) listener(packet);
  }

  destroy(): void {}
}
