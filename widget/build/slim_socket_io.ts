/**
 * An esbuild plugin that bundles our own Socket.IO client (`widget/socket_io_client.ts`) wherever the
 * widget imports `socket.io-client`: the widget uses one namespace, JSON events with acks,
 * WebSocket only, and the Manager's reconnection; socket.io-client, engine.io-client,
 * engine.io-parser and component-emitter cost ~9.5 KB min+gzip for that, ours ~2 KB
 * (issue #8, "Size"). Deno code and tests keep importing the real package.
 */
import type * as esbuild from "esbuild";

export const TINY_SOCKET_IO = new URL("../socket_io_client.ts", import.meta.url).pathname;

export function slimSocketIo(): esbuild.Plugin {
  return {
    name: "slim-socket.io",
    setup(build) {
      build.onResolve({ filter: /^socket\.io-client$/ }, () => ({ path: TINY_SOCKET_IO }));
    },
  };
}
