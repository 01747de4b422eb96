import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { CATEGORIES, CLIENT_TYPES } from "../../protocol/events.ts";
import type { SessionResponse } from "../../protocol/session.ts";
import { AppError } from "../errors.ts";
import { bearerToken } from "../http/bearer.ts";
import { edgeOf } from "../http/client_address.ts";
import { idleBody } from "../http/idle_body.ts";
import type { RateGate } from "../http/shared_limit.ts";
import type { SessionApi } from "../upload/api.ts";
import { fileCommandRoutes } from "./file_commands.ts";

const CreateSession = v.object({
  category: v.picklist(CATEGORIES),
  clientType: v.optional(v.picklist(CLIENT_TYPES), "web"),
});

export interface SessionRouteDeps {
  service: SessionApi;
  /** Session creations per client address (shared by the nodes when Redis is on). */
  limiter: RateGate;
  /** The HTTP file commands, per client address (the socket's event rate). */
  commandLimiter: RateGate;
  /** A body that sends nothing for this long is answered 408 (H5_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
}

/** Far above any valid session request; small enough that holding it costs nothing. */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

/** The sessions API: create (201), snapshot (the HTTP polling fallback), cancel, file commands. */
export function sessionRoutes(deps: SessionRouteDeps): Hono {
  const app = new Hono();
  // Counts the body as it streams whatever the framing (a chunked body has no Content-Length
  // to check), and stops reading at the cap: a 200 MB chunked body once cost 590 MB of RSS.
  const limitBody = bodyLimit({
    maxSize: MAX_JSON_BODY_BYTES,
    onError: () => {
      throw new AppError(
        "REQUEST_TOO_LARGE",
        `The request body is over ${MAX_JSON_BODY_BYTES} bytes`,
        // The rest of the body is never read: close rather than leave the client sending.
        { headers: { Connection: "close" } },
      );
    },
  });

  app.post("/", async (c, next) => {
    if (!await deps.limiter(edgeOf(c.req.raw, c.env).client)) {
      throw new AppError("RATE_LIMIT_EXCEEDED", "Too many sessions created from this address", {
        headers: { "Retry-After": "60" },
      });
    }
    await next();
  });
  app.use("*", async (c, next) => {
    const body = c.req.raw.body;
    if (body && deps.idleTimeoutMs) {
      c.req.raw = new Request(c.req.raw, { body: idleBody(body, deps.idleTimeoutMs) });
    }
    await next();
  });
  app.use("*", limitBody);

  app.post("/", async (c) => {
    let json: unknown;
    try {
      json = await c.req.json();
    } catch (error) {
      if (error instanceof AppError) throw error; // the body went quiet
      throw new AppError(
        "INVALID_REQUEST",
        'The body must be JSON like {"category":"personal","clientType":"web"}',
      );
    }
    const parsed = v.safeParse(CreateSession, json);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const field = issue.path?.map((p) => String(p.key)).join(".") ?? "body";
      throw new AppError("INVALID_REQUEST", `Invalid ${field}: ${issue.message}`);
    }
    const created = await deps.service.createSession(
      parsed.output.category,
      parsed.output.clientType,
    );
    return c.json({ ...created, uploadUrl: `${edgeOf(c.req.raw, c.env).origin}/api/uploads` }, 201);
  });

  // An empty or malformed header is no token at all (anonymous has no session to see).
  const authorized = (request: Request, id: string) =>
    deps.service.authorize(bearerToken(request.headers.get("Authorization")) || null, id);

  app.get("/:id", async (c) => {
    const id = c.req.param("id");
    await authorized(c.req.raw, id);
    c.header("Cache-Control", "no-store");
    const { category, limits } = await deps.service.limitsOf(id);
    const snapshot = await deps.service.snapshot(id);
    return c.json({ ...snapshot, category, limits } satisfies SessionResponse);
  });

  app.delete("/:id", async (c) => {
    const id = c.req.param("id");
    await authorized(c.req.raw, id);
    await deps.service.cancelSession(id, "Cancelled by the client");
    return c.json(await deps.service.snapshot(id));
  });

  // Here, after the middleware above: the commands' JSON bodies get the same cap and timeout.
  app.route(
    "/",
    fileCommandRoutes({
      commands: deps.service,
      limiter: deps.commandLimiter,
      authorize: authorized,
    }),
  );

  return app;
}
