import assert from "node:assert/strict";
import * as real from "socket.io-parser";
import * as json from "./socket_io_json_parser.ts";

type Packet = { type: number; nsp: string; id?: number; data?: unknown };

const PACKETS: Packet[] = [
  { type: 0, nsp: "/", data: { token: "t" } },
  { type: 0, nsp: "/admin", data: { sid: "abc" } },
  { type: 1, nsp: "/" },
  {
    type: 2,
    nsp: "/",
    data: ["upload-progress", { sessionId: "s", files: [{ id: "f", p: 0.5 }] }],
  },
  { type: 2, nsp: "/", id: 12, data: ["join-session", { sessionId: "s", note: '中文, "quotes"' }] },
  { type: 2, nsp: "/admin", id: 7, data: ["x", 1, null, true] },
  { type: 3, nsp: "/", id: 12, data: [{ ok: true, data: { files: [] } }] },
  { type: 4, nsp: "/", data: { message: "INSUFFICIENT_PERMISSIONS", data: { code: 403 } } },
  { type: 4, nsp: "/", data: "not authorized" },
];

function decodeWith(Decoder: new () => real.Decoder | json.Decoder, text: string): Packet {
  const decoder = new Decoder();
  let out: Packet | undefined;
  decoder.on("decoded", (p: Packet) => (out = p));
  decoder.add(text);
  assert.ok(out, `nothing decoded from ${text}`);
  return out;
}

Deno.test("json socket.io parser - encodes exactly as socket.io-parser", () => {
  for (const packet of PACKETS) {
    assert.deepEqual(new json.Encoder().encode(packet), new real.Encoder().encode(packet));
  }
});

Deno.test("json socket.io parser - decodes what socket.io-parser encodes, and back", () => {
  for (const packet of PACKETS) {
    const text = (new real.Encoder().encode(packet) as string[])[0]!;
    assert.deepEqual(decodeWith(json.Decoder, text), decodeWith(real.Decoder as never, text), text);
  }
});

Deno.test("json socket.io parser - refuses what socket.io-parser refuses", () => {
  for (const text of ["9", "2{}", '2["connect"]', "0[]", "1{}", "3{}", '2["x"']) {
    assert.throws(() => decodeWith(json.Decoder, text), Error, text);
    assert.throws(() => decodeWith(real.Decoder as never, text), Error, text);
  }
});

Deno.test("json socket.io parser - accepts a packet without payload, as socket.io-parser does", () => {
  for (const text of ["2", "3", "0", "1", "4"]) {
    assert.deepEqual(decodeWith(json.Decoder, text), decodeWith(real.Decoder as never, text), text);
  }
});

Deno.test("json socket.io parser - refuses binary packets (the widget never gets any)", () => {
  assert.throws(() => new json.Decoder().add('51-["x",{"_placeholder":true,"num":0}]'));
  assert.throws(() => new json.Decoder().add(new Uint8Array([1])));
});

Deno.test("json socket.io parser - the constants socket.io-client reads", () => {
  assert.equal(json.protocol, real.protocol);
  for (const [name, value] of Object.entries(json.PacketType)) {
    assert.equal(real.PacketType[name as keyof typeof real.PacketType], value, name);
  }
});

Deno.test("json socket.io parser - off() removes a listener", () => {
  const decoder = new json.Decoder();
  let calls = 0;
  const listener = () => calls++;
  decoder.on("decoded", listener);
  decoder.add('2["a"]');
  decoder.off("decoded", listener);
  decoder.add('2["a"]');
  assert.equal(calls, 1);
});
