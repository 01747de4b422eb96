/**
 * The key the hop counts a client's sockets under. Today it is the TCP peer as
 * `Deno.serve` saw it; behind a trusted proxy this is the one place to swap in the
 * proxy-aware client address (H5_TRUST_PROXY), so every realtime limit follows it.
 */
export type ClientKeyOf = (req: Request, info: Deno.ServeHandlerInfo) => string | null;

export const peerAddress: ClientKeyOf = (_req, info) => {
  const addr = info.remoteAddr;
  return addr.transport === "tcp" || addr.transport === "udp" ? addr.hostname : null;
};
