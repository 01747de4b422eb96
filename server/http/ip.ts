/**
 * IP addresses as bytes, CIDR ranges, and the key a client is limited by. Written out here
 * (a few lines) rather than pulled from npm: the checks run on every request, and the only
 * inputs are addresses Deno reports and values an operator configured.
 */

export interface Ip {
  /** 4 or 16 bytes; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is reported as IPv4. */
  bytes: Uint8Array;
}

function parseV4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    bytes[i] = Number(part);
  }
  return bytes;
}

function parseV6(text: string): Uint8Array | null {
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail = parseV4(text.slice(lastColon + 1));
    if (!tail) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = all[i]!;
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Parses an address as Deno or a proxy reports it (brackets and a `:port` are allowed). */
export function parseIp(text: string): Ip | null {
  let s = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(":"));
  const v4 = parseV4(s);
  if (v4) return { bytes: v4 };
  const v6 = s.includes(":") ? parseV6(s) : null;
  if (!v6) return null;
  if (MAPPED_PREFIX.every((b, i) => v6[i] === b)) return { bytes: v6.slice(12) };
  return { bytes: v6 };
}

export interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/** `10.0.0.0/8`, `fd00::/8` or a single address; null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [address, bits, extra] = text.trim().split("/");
  if (extra !== undefined || address === undefined) return null;
  const ip = parseIp(address);
  if (!ip) return null;
  const max = ip.bytes.length * 8;
  if (bits === undefined) return { bytes: ip.bytes, bits: max };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { bytes: ip.bytes, bits: Number(bits) };
}

export function inCidr(ip: Ip, range: Cidr): boolean {
  if (ip.bytes.length !== range.bytes.length) return false;
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip.bytes[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

export const LOOPBACK: readonly Cidr[] = [parseCidr("127.0.0.0/8")!, parseCidr("::1/128")!];

/**
 * The key every per-client limit counts under: an IPv4 address as is, an IPv6 address by its
 * /64 (one subscriber's usual allocation, RFC 6177: a client picks any of 2^64 addresses, so
 * limiting single addresses would limit nothing). Unparsable input is its own key.
 */
export function clientKey(address: string): string {
  const ip = parseIp(address);
  if (!ip) return address;
  if (ip.bytes.length === 4) return ip.bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((ip.bytes[i]! << 8) | ip.bytes[i + 1]!).toString(16));
  return `${groups.join(":")}::/64`;
}
