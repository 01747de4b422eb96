/**
 * An esbuild plugin that keeps only what the widget uses of socket.io-client:
 * - `socket.io-parser` → the JSON-only parser (`socket_io_json_parser.ts`);
 * - engine.io-client's URI regex → `new URL` (`parseuri.ts`);
 * - engine.io-client → its Socket with the WebSocket transport only. With
 *   `transports: ["websocket", ...]` and `tryAllTransports` off (the default), engine.io
 *   never opens another transport anyway; when WebSocket fails, the engine polls
 *   `GET /api/sessions/:id` itself (the "polling" connection state).
 *   Its transport-upgrade prober goes too: a WebSocket connection is never upgraded (the
 *   server offers no upgrades from it), so `_probe` is unreachable.
 * - socket.io-client's Socket without the public methods nothing here calls (catch-all
 *   listeners, `emitWithAck`, `timeout`, `compress`, `volatile`, the `send` and `close` aliases, `disconnected`; see UNUSED_SOCKET_METHODS);
 *   the library never calls them itself. ~0.5 KB min+gzip, measured.
 * Everything else (Manager, reconnection, acks, the engine.io protocol) is the library's.
 */
import type * as esbuild from "esbuild";

const PARSEURI = new URL("./parseuri.ts", import.meta.url).pathname;

export function slimSocketIo(): esbuild.Plugin {
  return {
    name: "slim-socket.io",
    setup(build) {
      build.onResolve({ filter: /^socket\.io-parser$/ }, () => ({
        path: new URL("./socket_io_json_parser.ts", import.meta.url).pathname,
      }));
      // engine.io-client's own index re-exports every transport (with side effects).
      build.onResolve(
        { filter: /^engine\.io-client$/ },
        async ({ resolveDir, kind, pluginData }) => {
          if (pluginData === "skip") return undefined;
          const real = await build.resolve("engine.io-client", {
            resolveDir,
            kind,
            pluginData: "skip",
          });
          if (real.errors.length) return { errors: real.errors };
          return { path: real.path, namespace: "eio-slim" };
        },
      );
      build.onResolve(
        { filter: /^\.\/contrib\/parseuri\.js$/ },
        ({ importer }) => /engine\.io-client/.test(importer) ? { path: PARSEURI } : undefined,
      );
      build.onResolve(
        { filter: /^\.\/transports\/index\.js$/ },
        ({ importer }) =>
          /engine\.io-client/.test(importer)
            ? {
              path: importer.replace(/socket\.js$/, "transports/websocket.js"),
              namespace: "eio-transports",
            }
            : undefined,
      );
      build.onLoad({ filter: /engine\.io-client\/.*\/esm\/socket\.js$/ }, async ({ path }) => ({
        // `send` is an alias of `write`, which is what socket.io-client's Manager calls.
        contents: withoutMethods(withoutProbe(await Deno.readTextFile(path)), ["send"]),
      }));
      build.onLoad({ filter: /socket\.io-client\/.*\/esm\/socket\.js$/ }, async ({ path }) => ({
        // The retry queue serves the `retries` option, which widget/socket.ts never sets;
        // onconnect still calls _drainQueue, so it stays as an empty method.
        contents: emptied(
          withoutMethods(await Deno.readTextFile(path), UNUSED_SOCKET_METHODS),
          "_drainQueue(force = false)",
        ),
      }));
      build.onLoad({ filter: /.*/, namespace: "eio-slim" }, ({ path }) => {
        const dir = path.slice(0, path.lastIndexOf("/"));
        return {
          resolveDir: dir,
          contents: [
            `export { Socket } from "./socket.js";`,
            `export { installTimerFunctions } from "./util.js";`,
            `export { nextTick } from "./globals.js";`,
            `export { parse } from ${JSON.stringify(PARSEURI)};`,
            // socket.io-client re-exports the transports; nothing here uses them.
            `export const Fetch = void 0, NodeXHR = void 0, XHR = void 0, NodeWebSocket = void 0,`,
            `  WebSocket = void 0, WebTransport = void 0;`,
          ].join("\n"),
        };
      });
      build.onLoad({ filter: /.*/, namespace: "eio-transports" }, ({ path }) => ({
        resolveDir: path.slice(0, path.lastIndexOf("/")),
        contents:
          `import { WS } from "./websocket.js"; export const transports = { websocket: WS };`,
      }));
    },
  };
}

/** engine.io-client's socket.js with an empty `_probe` method (fails loudly if it moved). */
export function withoutProbe(source: string): string {
  const start = source.indexOf("\n    _probe(name) {\n");
  const end = source.indexOf("\n    }\n", start);
  if (start < 0 || end < 0) {
    throw new Error("Cannot slim engine.io-client: its Socket._probe method was not found");
  }
  return source.slice(0, start) + "\n    _probe() { }" + source.slice(end + 6);
}

/**
 * Public methods of socket.io-client's Socket that the widget never calls (widget/socket.ts
 * and engine/realtime.ts use `on`, `emit` with an ack callback, `disconnect`, `connected`,
 * `active` and `io`), and that the library does not call itself.
 */
export const UNUSED_SOCKET_METHODS = [
  "_addToQueue",
  "send",
  "close",
  "get disconnected",
  "emitWithAck",
  "compress",
  "get volatile",
  "timeout",
  "onAny",
  "prependAny",
  "offAny",
  "listenersAny",
  "onAnyOutgoing",
  "prependAnyOutgoing",
  "offAnyOutgoing",
  "listenersAnyOutgoing",
] as const;

/** `source` without the named class methods (4-space indented, as the library ships). */
export function withoutMethods(source: string, names: readonly string[]): string {
  for (const name of names) {
    const start = source.indexOf(`\n    ${name}(`);
    const end = source.indexOf("\n    }\n", start);
    if (start < 0 || end < 0) {
      throw new Error(`Cannot slim socket.io: a Socket's ${name} method was not found`);
    }
    source = source.slice(0, start) + source.slice(end + 6);
  }
  return source;
}

/** `source` with the method that starts with `signature` reduced to an empty body. */
export function emptied(source: string, signature: string): string {
  const start = source.indexOf(`\n    ${signature} {\n`);
  const end = source.indexOf("\n    }\n", start);
  if (start < 0 || end < 0) {
    throw new Error(`Cannot slim socket.io: a Socket's ${signature} method was not found`);
  }
  return source.slice(0, start) + `\n    ${signature} { }` + source.slice(end + 6);
}
