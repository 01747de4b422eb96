import type { Context } from "hono";
import { TUS_CHECKSUM_ALGORITHMS, TUS_EXTENSIONS, TUS_VERSION } from "../../../protocol/tus.ts";
import { bearerToken } from "../../http/bearer.ts";
import { edgeOf } from "../../http/client_address.ts";
import type { Principal } from "../../upload/principal.ts";
import type { TusUploads } from "../../upload/api.ts";

export interface TusDeps {
  service: TusUploads;
  maxSize: number;
}

export async function principalOf(c: Context, deps: TusDeps): Promise<Principal> {
  return await deps.service.principal(bearerToken(c.req.header("Authorization")));
}

/** Absolute, on the origin the client used (behind a proxy: the public one). */
export function uploadUrl(c: Context, id: string): string {
  return `${edgeOf(c.req.raw, c.env).origin}/api/uploads/${encodeURIComponent(id)}`;
}

export function capabilityHeaders(maxSize: number): Record<string, string> {
  return {
    "Tus-Version": TUS_VERSION,
    "Tus-Extension": TUS_EXTENSIONS.join(","),
    "Tus-Max-Size": String(maxSize),
    "Tus-Checksum-Algorithm": TUS_CHECKSUM_ALGORITHMS.join(","),
  };
}
