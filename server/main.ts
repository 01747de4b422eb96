/**
 * The composition root and the only file that touches the HTTP server and the environment.
 * HTTP goes to Deno's native server one connection at a time (`http/serve.ts`: uploads must
 * not pass through node:http, which is 4x slower here); `/socket.io/` hops to an internal
 * Socket.IO server on loopback.
 */
import type { Hono } from "hono";
import { loadOrCreateSecret, TokenSigner } from "./auth/token.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { prepareDataDir } from "./data_dir.ts";
import { type Engines, EngineStartError, openEngines } from "./engines.ts";
import { createApp } from "./app.ts";
import { originPolicy } from "./http/origins.ts";
import { type Edge, peerOf, ProxyPolicy } from "./http/client_address.ts";
import { edgeServe } from "./http/serve.ts";
import { startRealtime } from "./realtime/socket_server.ts";
import type { StateStore } from "./state/store.ts";
import { EventBus } from "./upload/event_bus.ts";
import { seedFromStore } from "./upload/progress_delta.ts";
import { UploadService } from "./upload/service.ts";
import { widgetRoutes } from "./routes/widget.ts";

export interface RunningServer {
  /** e.g. http://127.0.0.1:8005 */
  url: string;
  port: number;
  service: UploadService;
  bus: EventBus;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra routes (widget file, demo page), mounted after the API. */
  extra?: (app: Hono) => void;
  /** How often idle sessions are swept (ms). */
  sweepEveryMs?: number;
  quiet?: boolean;
  /** The service's clock (tests move it instead of waiting for leases to run out). */
  now?: () => number;
  /** Wraps the state store (tests count its reads); the server still closes the original. */
  wrapStore?: (store: StateStore) => StateStore;
}

export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<RunningServer> {
  const engines = await openEngines(config);
  try {
    return await startOn(engines, config, options);
  } catch (error) {
    await engines.close();
    throw error;
  }
}

async function startOn(
  engines: Engines,
  config: Config,
  options: StartOptions,
): Promise<RunningServer> {
  const secret = await loadOrCreateSecret(config.dataDir, config.secret);
  const { storage, locker } = engines;
  const store = options.wrapStore?.(engines.store) ?? engines.store;
  const bus = new EventBus();
  const service = new UploadService({
    store,
    storage,
    locker,
    bus,
    tokens: new TokenSigner(secret),
    config,
    ...(engines.stopChannel ? { stopChannel: engines.stopChannel } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  await service.recover();
  // Other nodes hear this node's progress deltas (their rooms stay exact; they send nothing).
  const unpublish = bus.subscribeProgress((delta) => engines.progressChannel.publish(delta));

  const isOriginAllowed = originPolicy(config.allowedOrigins);
  const proxy = new ProxyPolicy(config.trustProxy, config.publicUrl);
  const realtime = await startRealtime({
    commands: service,
    events: bus,
    seedProgress: seedFromStore(store),
    peerProgress: (listener) => engines.progressChannel.listen(listener),
    // Several nodes: one progress update per file per 500 ms whichever node sends it.
    ...(engines.throttleGate ? { throttleGate: engines.throttleGate } : {}),
    // A pinned public origin is the page's origin behind a proxy, not the internal URL.
    isOriginAllowed: (origin, self) => isOriginAllowed(origin, proxy.publicOrigin ?? self),
    rateLimit: { events: config.socketRate, perMs: 1000 },
    limits: { maxSocketsPerAddress: config.maxSocketsPerIp },
    ...(engines.realtimeAdapter ? { adapter: engines.realtimeAdapter } : {}),
  });
  const appOptions: Parameters<typeof createApp>[0] = {
    service,
    allowedOrigins: config.allowedOrigins,
    maxFileSize: config.maxFileSize,
    sessionRate: config.sessionRate,
    commandRate: { events: config.socketRate, perMs: 1000 },
    idleTimeoutMs: config.idleTimeoutMs,
    ...(engines.rateLimits ? { rateLimits: engines.rateLimits } : {}),
  };
  if (options.extra) appOptions.extra = options.extra;
  const app = createApp(appOptions);

  // Several nodes: every HTTP answer names the node that gave it (X-H5-Node, for debugging
  // a balancer); one node adds nothing, as before.
  const nodeHeader = config.redis ? config.nodeId : null;
  const server = await edgeServe({
    port: config.port,
    hostname: config.host,
    idleTimeoutMs: config.idleTimeoutMs,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    // Every user behind a trusted proxy shares its address: counting it would lock them out.
    unlimited: (peer) => proxy.trusts(peer),
  }, (request, info) => {
    const { pathname } = new URL(request.url);
    let edge: Edge | undefined;
    // Resolved on first use: a PATCH never asks, so the upload path pays nothing for it.
    const env = {
      remoteAddr: info.remoteAddr,
      completed: info.completed,
      get edge() {
        return edge ??= proxy.resolve(request, peerOf(info));
      },
    };
    if (pathname.startsWith("/socket.io/")) {
      // The hop limits handshakes by address: give it the client behind a trusted proxy.
      return realtime.handle(request, {
        ...env,
        remoteAddr: { ...info.remoteAddr, hostname: env.edge.client },
      });
    }
    if (!nodeHeader) return app.fetch(request, env);
    return Promise.resolve(app.fetch(request, env)).then((response) =>
      withNode(response, nodeHeader)
    );
  });
  const addr = server.addr;
  const host = addr.hostname === "0.0.0.0" || addr.hostname === "::" ? "127.0.0.1" : addr.hostname;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;

  let sweeping = Promise.resolve();
  const sweeper = setInterval(() => {
    sweeping = sweeping.then(() => service.sweep()).catch((e) => console.error("Sweep failed:", e));
  }, options.sweepEveryMs ?? Math.min(60_000, Math.max(250, config.sessionTimeoutMs / 10)));

  if (!options.quiet) {
    console.log(`h5-uploader listening on ${url} (${engines.describe}, node ${config.nodeId})`);
  }
  return {
    url,
    port: addr.port,
    service,
    bus,
    async close() {
      clearInterval(sweeper);
      unpublish();
      service.stopAll();
      await realtime.close();
      await server.shutdown();
      await sweeping;
      await engines.close();
    },
  };
}

/** `response` with the X-H5-Node header (a copy when its headers are immutable). */
function withNode(response: Response, node: string): Response {
  try {
    response.headers.set("X-H5-Node", node);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("X-H5-Node", node);
    return copy;
  }
}

/** A start that failed for a reason the operator can fix, in one line naming the variable. */
function listenFailure(error: unknown, config: Config): string | null {
  if (error instanceof EngineStartError) return error.message;
  const where = `PORT=${config.port} on HOST=${config.host}`;
  if (error instanceof Deno.errors.AddrInUse) return `${where} is already in use`;
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `HOST=${config.host} is not an address of this machine`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${where} may not be opened by this user`;
  }
  return null;
}

if (import.meta.main) {
  let config: Config;
  try {
    config = loadConfig(Deno.env.toObject());
    await prepareDataDir(config.dataDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Cannot start h5-uploader: ${error.message}`);
    Deno.exit(2);
  }
  let running: RunningServer;
  try {
    running = await startServer(config, {
      extra: widgetRoutes({
        distDir: new URL("../dist", import.meta.url),
        demoDir: new URL("../demo", import.meta.url),
        allowedOrigins: config.allowedOrigins,
      }),
    });
  } catch (error) {
    const why = listenFailure(error, config);
    if (why === null) throw error;
    console.error(`Cannot start h5-uploader: ${why}`);
    Deno.exit(2);
  }
  let stopping: Promise<void> | undefined;
  // Idempotent: a Ctrl-C reaches both the launcher (which passes it on) and this process.
  const stop = () => stopping ??= running.close().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
