import type { Context } from "hono";
import { principalOf, type TusDeps } from "./context.ts";

/** tus termination: "the Server MUST free resources and respond with 204 No Content". */
export async function deleteUpload(c: Context, deps: TusDeps, id: string): Promise<Response> {
  await deps.service.terminate(await principalOf(c, deps), id);
  return c.body(null, 204);
}
