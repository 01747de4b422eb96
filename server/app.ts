import { Hono } from "hono";
import { cors } from "hono/cors";
import { TUS_ALLOWED_HEADERS, TUS_EXPOSED_HEADERS } from "../protocol/tus.ts";
import { AppError, toAppError } from "./errors.ts";
import { outageAnswer } from "./outage.ts";
import { edgeOf } from "./http/client_address.ts";
import { originPolicy } from "./http/origins.ts";
import { DEFAULT_RATE_LIMIT, type RateLimit } from "./http/rate_limit.ts";
import { MemoryRateLimitStore, type RateLimitStore } from "./http/rate_limit_store.ts";
import { rateGate } from "./http/shared_limit.ts";
import { categoryRoutes } from "./routes/categories.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { tusRoutes } from "./routes/tus/mod.ts";
import type { HttpApi } from "./upload/api.ts";

export interface AppDeps {
  service: HttpApi;
  allowedOrigins: readonly string[];
  maxFileSize: number;
  /** Session creations per address per minute. */
  sessionRate?: number;
  /** HTTP file commands per client address (H5_SOCKET_RATE, like socket events). */
  commandRate?: RateLimit;
  /** H5_IDLE_TIMEOUT_MS for JSON bodies (upload bodies: the storage). */
  idleTimeoutMs?: number;
  /**
   * Where the HTTP limits keep their buckets: this node's memory by default, Redis when the
   * nodes share it (issue #9: N nodes must not let N times the limit through).
   */
  rateLimits?: RateLimitStore;
  /** Extra routes mounted last (the widget file and the demo page). */
  extra?: (app: Hono) => void;
}

/** The HTTP app: a pure `fetch` handler, testable with `app.request()`. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const allowed = originPolicy(deps.allowedOrigins);
  const rateLimits = deps.rateLimits ?? new MemoryRateLimitStore();

  app.onError((error, c) => {
    // A 5xx is our own fault (or a full disk, 507): always worth an operator's look; a shared
    // engine out of reach is not: 503, logged once per outage (server/outage.ts).
    const outage = outageAnswer(error);
    const appError = outage ?? toAppError(error);
    if (!outage && appError.status >= 500) {
      console.error("Request failed:", c.req.method, c.req.path, error);
    }
    const headers = new Headers(appError.headers);
    headers.set("Content-Type", "application/json; charset=utf-8");
    headers.set("Cache-Control", "no-store");
    return new Response(JSON.stringify({ error: appError.toPayload() }), {
      status: appError.status,
      headers,
    });
  });
  app.notFound(() => {
    throw new AppError("NOT_FOUND");
  });

  app.use("/api/*", async (c, next) => {
    const origin = c.req.header("Origin");
    if (!allowed(origin, edgeOf(c.req.raw, c.env).origin)) {
      throw new AppError("ORIGIN_NOT_ALLOWED", `Origin "${origin}" may not use this server`);
    }
    await next();
  });
  const corsMiddleware = cors({
    origin: (origin) => origin,
    allowMethods: ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: TUS_ALLOWED_HEADERS,
    exposeHeaders: [
      ...TUS_EXPOSED_HEADERS,
      "Content-Range",
      "Content-Disposition",
      "Retry-After",
    ],
    maxAge: 86_400,
  });
  // A tus OPTIONS without Access-Control-Request-Method is a capability query, not a preflight.
  app.use(
    "/api/*",
    (c, next) =>
      c.req.method === "OPTIONS" && !c.req.header("Access-Control-Request-Method")
        ? next()
        : corsMiddleware(c, next),
  );

  app.get("/healthz", (c) => c.json({ ok: true, time: new Date().toISOString() }));
  app.route("/api/categories", categoryRoutes(deps.service.categories));
  app.route(
    "/api/sessions",
    sessionRoutes({
      service: deps.service,
      limiter: rateGate(rateLimits, "session", { events: deps.sessionRate ?? 60, perMs: 60_000 }),
      commandLimiter: rateGate(rateLimits, "command", deps.commandRate ?? DEFAULT_RATE_LIMIT),
      ...(deps.idleTimeoutMs ? { idleTimeoutMs: deps.idleTimeoutMs } : {}),
    }),
  );
  app.route("/api/uploads", tusRoutes({ service: deps.service, maxSize: deps.maxFileSize }));
  deps.extra?.(app);
  return app;
}
