/**
 * engine.io-client's URI parser, on `new URL` instead of a 1 KB regex (every browser the
 * bundle targets, ES2022, has URL). Only the fields socket.io-client and engine.io-client
 * read: protocol (no colon), host (IPv6 without brackets), port ("" when default), path,
 * query (no "?") and queryKey.
 */
export function parse(source: string) {
  const url = new URL(source);
  return {
    source,
    protocol: url.protocol.slice(0, -1),
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port,
    path: url.pathname,
    query: url.search.slice(1),
    queryKey: Object.fromEntries(url.searchParams),
  };
}
