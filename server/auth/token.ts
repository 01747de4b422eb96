/**
 * Session tokens: `<sessionId>.<expiresAtSeconds>.<hmac>` where the HMAC-SHA256 covers the
 * first two parts. A capability for one session, verifiable without a lookup.
 */
export interface TokenClaims {
  sessionId: string;
  expiresAt: number;
}

const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** An HMAC-SHA256 tag is 32 bytes: 43 base64url characters without padding. */
const MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The bytes of a token's MAC, or null. The exact length comes first: `atob` throws on a
 * length of 4n+1 ("a.1.y" reached a 500), and no other length can be a valid tag anyway.
 */
function macBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (!MAC_PATTERN.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export class TokenSigner {
  #key: Promise<CryptoKey>;
  #now: () => number;

  constructor(secret: string, now: () => number = Date.now) {
    this.#key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    this.#now = now;
  }

  async sign(claims: TokenClaims): Promise<string> {
    const body = `${claims.sessionId}.${Math.floor(claims.expiresAt / 1000)}`;
    const mac = await crypto.subtle.sign("HMAC", await this.#key, encoder.encode(body));
    return `${body}.${toBase64Url(new Uint8Array(mac))}`;
  }

  /** The claims of a valid, unexpired token, else null. Constant-time MAC check. */
  async verify(token: string): Promise<TokenClaims | null> {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const [sessionId, expires, mac] = parts as [string, string, string];
    if (!/^\d{1,12}$/.test(expires)) return null;
    const signature = macBytes(mac);
    if (!signature) return null;
    const ok = await crypto.subtle.verify(
      "HMAC",
      await this.#key,
      signature,
      encoder.encode(`${sessionId}.${expires}`),
    );
    const expiresAt = Number(expires) * 1000;
    if (!ok || expiresAt <= this.#now()) return null;
    return { sessionId, expiresAt };
  }
}

/** H5_SECRET, or a random one generated once into `<dataDir>/secret` so tokens survive restarts. */
export async function loadOrCreateSecret(
  dataDir: string,
  configured: string | null,
): Promise<string> {
  if (configured) return configured;
  const path = `${dataDir}/secret`;
  try {
    const existing = (await Deno.readTextFile(path)).trim();
    if (existing.length >= 32) return existing;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const secret = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  await Deno.mkdir(dataDir, { recursive: true });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, secret, { mode: 0o600 });
  await Deno.rename(tmp, path);
  return secret;
}
