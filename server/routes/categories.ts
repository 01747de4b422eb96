import { Hono } from "hono";
import type { Category } from "../../protocol/events.ts";
import type { CategoriesResponse, CategoryLimits } from "../../protocol/session.ts";

/**
 * Five minutes: the limits change only with the server's configuration (a restart), and a
 * page that checks a picked file should not pay a round trip for every pick.
 */
export const CATEGORIES_MAX_AGE_S = 300;

/**
 * `GET /api/categories`: every category's limits, public (no token: a page checks a file
 * before it has a session) and cacheable, with a strong ETag over the exact body so that a
 * revalidation after max-age costs a 304 instead of the body.
 */
export function categoryRoutes(categories: Record<Category, CategoryLimits>): Hono {
  const app = new Hono();
  const body = JSON.stringify({ categories } satisfies CategoriesResponse);
  let etag: Promise<string> | undefined;
  const cacheHeaders = async () => ({
    "Cache-Control": `public, max-age=${CATEGORIES_MAX_AGE_S}`,
    ETag: await (etag ??= etagOf(body)),
  });

  app.get("/", async (c) => {
    const headers = await cacheHeaders();
    if (matches(c.req.header("If-None-Match"), headers.ETag)) {
      return c.body(null, 304, headers);
    }
    return c.body(body, 200, { ...headers, "Content-Type": "application/json; charset=utf-8" });
  });
  return app;
}

async function etagOf(body: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
  const hex = Array.from(
    new Uint8Array(digest).subarray(0, 16),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  return `"${hex}"`;
}

/** RFC 9110 §13.1.2: If-None-Match compares weakly (a `W/` tag matches), `*` matches any. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || (t.startsWith("W/") ? t.slice(2) : t) === etag;
  });
}
