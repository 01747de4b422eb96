import { Hono } from "hono";
import { TUS_VERSION } from "../../../protocol/tus.ts";
import { AppError } from "../../errors.ts";
import { checkTusResumable } from "./headers.ts";
import { capabilityHeaders, type TusDeps } from "./context.ts";
import { postUpload } from "./post.ts";
import { headUpload } from "./head.ts";
import { patchUpload } from "./patch.ts";
import { deleteUpload } from "./delete.ts";
import { downloadUpload } from "./download.ts";

/** tus 1.0.0 at /api/uploads: one handler per method, X-HTTP-Method-Override honoured. */
export function tusRoutes(deps: TusDeps): Hono {
  const app = new Hono();
  const method = (request: Request) =>
    (request.headers.get("X-HTTP-Method-Override") ?? request.method).toUpperCase();

  app.use("*", async (c, next) => {
    await next();
    // tus core: the Tus-Resumable header MUST be included in every response (except OPTIONS, where it does no harm).
    c.res.headers.set("Tus-Resumable", TUS_VERSION);
  });

  const options = () =>
    new Response(null, { status: 200, headers: capabilityHeaders(deps.maxSize) });

  app.all("/", async (c) => {
    const m = method(c.req.raw);
    if (m === "OPTIONS") return options();
    checkTusResumable(c.req.header("Tus-Resumable"));
    if (m === "POST") return await postUpload(c, deps);
    throw new AppError(
      "METHOD_NOT_ALLOWED",
      `Method ${m} is not allowed on the upload collection`,
      {
        headers: { Allow: "OPTIONS, POST" },
      },
    );
  });

  app.all("/:id", async (c) => {
    const id = c.req.param("id");
    const m = method(c.req.raw);
    if (m === "OPTIONS") return options();
    if (m === "GET") return await downloadUpload(c, deps, id);
    checkTusResumable(c.req.header("Tus-Resumable"));
    if (m === "HEAD") return await headUpload(c, deps, id);
    if (m === "PATCH") return await patchUpload(c, deps, id);
    if (m === "DELETE") return await deleteUpload(c, deps, id);
    throw new AppError("METHOD_NOT_ALLOWED", `Method ${m} is not allowed on an upload`, {
      headers: { Allow: "OPTIONS, HEAD, PATCH, DELETE, GET" },
    });
  });
  return app;
}
