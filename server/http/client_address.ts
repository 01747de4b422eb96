/**
 * Who is asking, and which public URL they used. Behind a reverse proxy the TCP peer is the
 * proxy and the request URL is the internal `http://` one; the proxy says the truth in
 * `Forwarded` (RFC 7239) or `X-Forwarded-For/-Proto/-Host`, which anyone can also forge, so
 * those headers count only when the peer is in `H5_TRUST_PROXY`.
 */
import { type Cidr, clientKey, inCidr, type Ip, parseIp } from "./ip.ts";

export interface Edge {
  /** The client's rate-limit key: its address (IPv6 by /64), or "local" with no TCP peer. */
  client: string;
  /** The origin the client addressed, e.g. `https://uploads.example` (no trailing slash). */
  origin: string;
}

export class ProxyPolicy {
  readonly #trusted: readonly Cidr[];
  readonly #publicOrigin: string | null;

  constructor(trusted: readonly Cidr[] = [], publicOrigin: string | null = null) {
    this.#trusted = trusted;
    this.#publicOrigin = publicOrigin;
  }

  get publicOrigin(): string | null {
    return this.#publicOrigin;
  }

  /** Is this TCP peer a proxy whose forwarding headers we believe? */
  trusts(peer: string | Ip | null): boolean {
    if (peer === null || this.#trusted.length === 0) return false;
    const ip = typeof peer === "string" ? parseIp(peer) : peer;
    return ip !== null && this.#trusted.some((range) => inCidr(ip, range));
  }

  /** The client and public origin of `request` received from TCP peer `peer`. */
  resolve(request: Request, peer: string | null): Edge {
    const trusted = this.trusts(peer);
    const forwarded = trusted ? readForwarded(request.headers) : null;
    return {
      client: peer === null ? "local" : clientKey(this.#client(peer, forwarded)),
      origin: this.#publicOrigin ?? originOf(request, forwarded),
    };
  }

  /** The rightmost address that is not one of our proxies (RFC 7239 §5.2: each proxy appends). */
  #client(peer: string, forwarded: Forwarded | null): string {
    if (forwarded === null) return peer;
    const hops = forwarded.for;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      const ip = parseIp(hop);
      // "unknown" or an obfuscated name: the nearest thing we know about the client.
      if (ip === null || !this.trusts(ip)) return hop;
    }
    return hops[0] ?? peer;
  }
}

interface Forwarded {
  for: string[];
  proto: string | null;
  host: string | null;
}

function unquote(value: string): string {
  const v = value.trim();
  return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;
}

function lastList(value: string | null): string | null {
  const last = value?.split(",").at(-1)?.trim();
  return last ? last : null;
}

/** `Forwarded` when present (the standard), else the `X-Forwarded-*` family. */
function readForwarded(headers: Headers): Forwarded {
  const standard = headers.get("forwarded");
  if (standard) {
    const result: Forwarded = { for: [], proto: null, host: null };
    for (const element of standard.split(",")) {
      for (const pair of element.split(";")) {
        const eq = pair.indexOf("=");
        if (eq < 0) continue;
        const key = pair.slice(0, eq).trim().toLowerCase();
        const value = unquote(pair.slice(eq + 1));
        if (key === "for") result.for.push(value);
        // The element our nearest proxy added is the last one: its proto and host win.
        else if (key === "proto") result.proto = value;
        else if (key === "host") result.host = value;
      }
    }
    return result;
  }
  return {
    for: (headers.get("x-forwarded-for") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    proto: lastList(headers.get("x-forwarded-proto")),
    host: lastList(headers.get("x-forwarded-host")),
  };
}

const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i;

function originOf(request: Request, forwarded: Forwarded | null): string {
  const url = new URL(request.url);
  if (forwarded === null) return url.origin;
  const proto = forwarded.proto?.toLowerCase();
  const scheme = proto === "https" || proto === "http" ? proto : url.protocol.slice(0, -1);
  const host = forwarded.host && HOST.test(forwarded.host) ? forwarded.host : url.host;
  // Through URL so that a default port (https://x:443) is dropped as a browser would.
  return new URL(`${scheme}://${host}`).origin;
}

/**
 * What the handlers read: the edge main.ts resolved for this request (passed as Hono's env),
 * or, for in-process `app.request()` tests, the request's own URL and no client address.
 */
export function edgeOf(request: Request, env: unknown): Edge {
  const carried = (env as { edge?: Edge } | undefined)?.edge;
  if (carried) return carried;
  const addr = (env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr;
  return {
    client: addr?.hostname ? clientKey(addr.hostname) : "local",
    origin: new URL(request.url).origin,
  };
}

/** The TCP peer of a Deno.serve request, or null on a Unix socket. */
export function peerOf(info: { remoteAddr: Deno.Addr }): string | null {
  const addr = info.remoteAddr;
  return addr.transport === "tcp" || addr.transport === "udp" ? addr.hostname : null;
}
