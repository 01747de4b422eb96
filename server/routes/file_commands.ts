import { Hono } from "hono";
import type { FileCommandResponse, SessionSnapshot } from "../../protocol/session.ts";
import { AppError } from "../errors.ts";
import { edgeOf } from "../http/client_address.ts";
import type { RateGate } from "../http/shared_limit.ts";
import * as schemas from "../realtime/schemas.ts";
import type { SessionCommands } from "../upload/commands.ts";

export interface FileCommandDeps {
  commands: Pick<SessionCommands, "pause" | "resume" | "cancel">;
  /** Per client address, the socket's event rate (H5_SOCKET_RATE). */
  limiter: RateGate;
  /** Throws unless the request's bearer token grants the session. */
  authorize(request: Request, sessionId: string): Promise<void>;
}

type Run = (
  commands: FileCommandDeps["commands"],
  input: { sessionId: string; fileId: string; reason?: string },
) => Promise<SessionSnapshot>;

// The socket's schemas and service calls (handlers.ts), so both paths validate, change state
// and tell the room alike; resume has no reason in the spec and the schema drops it.
const RUN: Record<"pause" | "resume" | "cancel", Run> = {
  pause: (c, input) => c.pause(schemas.parse(schemas.UploadPause, input)),
  resume: (c, input) => c.resume(schemas.parse(schemas.UploadResume, input)),
  cancel: (c, input) => c.cancel(schemas.parse(schemas.UploadCancel, input)),
};

/**
 * `POST /:id/files/:fileId/{pause,resume,cancel}`: the socket's commands for a client whose
 * socket is down (a phone between networks polls over HTTP), so pause stays the server's
 * state and the room still hears it. Mounted inside the sessions routes, behind their JSON
 * body cap and idle timeout.
 */
export function fileCommandRoutes(deps: FileCommandDeps): Hono {
  const app = new Hono();
  for (const [name, run] of Object.entries(RUN)) {
    app.post(`/:id/files/:fileId/${name}`, async (c) => {
      // Before the token check: guessing tokens costs requests like guessing handshakes.
      if (!await deps.limiter(edgeOf(c.req.raw, c.env).client)) {
        throw new AppError("RATE_LIMIT_EXCEEDED", "Too many commands from this address", {
          headers: { "Retry-After": "1" },
        });
      }
      const sessionId = c.req.param("id");
      await deps.authorize(c.req.raw, sessionId);
      const body = await readBody(c.req.raw);
      const data = await run(deps.commands, {
        sessionId,
        fileId: c.req.param("fileId"),
        ...body,
      });
      c.header("Cache-Control", "no-store");
      return c.json({ ok: true, data } satisfies FileCommandResponse);
    });
  }
  return app;
}

/** No body, or JSON `{reason?}`. */
async function readBody(request: Request): Promise<{ reason?: string }> {
  let text: string;
  try {
    text = await request.text();
  } catch (error) {
    if (error instanceof AppError) throw error; // over the cap, or the body went quiet
    throw new AppError("INVALID_REQUEST", "The request body could not be read");
  }
  if (text.trim() === "") return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError("INVALID_REQUEST", 'The body must be empty or JSON like {"reason":"..."}');
  }
  const parsed = schemas.parse(schemas.FileCommandBody, json);
  return parsed.reason === undefined ? {} : { reason: parsed.reason };
}
