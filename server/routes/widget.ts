/**
 * The widget file and the demo page: `GET /h5-uploader.js` (+ `.map`, `.d.ts`) from the
 * build output, `GET /` the demo, `GET /demo/*` its assets.
 *
 * CORS echoes the embed allow-list (`H5_ALLOWED_ORIGINS`, the server's own origin, or `*`
 * when the list has it) rather than answering `*` to everyone: the file itself is public,
 * but a page that may not use the API should fail where it embeds the widget (a module
 * script refused in the console) instead of at its first upload. `Vary: Origin` keeps
 * shared caches honest.
 */
import type { Context, Hono } from "hono";
import { fileURLToPath } from "node:url";
import { edgeOf } from "../http/client_address.ts";
import { originPolicy } from "../http/origins.ts";

export interface WidgetRouteOptions {
  /** Folder of the build output (`dist/`). */
  distDir: string | URL;
  /** Folder of the demo page (`demo/`). */
  demoDir: string | URL;
  /** `H5_ALLOWED_ORIGINS`. */
  allowedOrigins: readonly string[];
}

const CACHE = "public, max-age=300, stale-while-revalidate=86400";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".ts": "application/typescript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
};

const typeOf = (name: string) =>
  TYPES[/\.[a-z]+$/.exec(name)?.[0] ?? ""] ?? "application/octet-stream";

const dir = (path: string | URL) =>
  (typeof path === "string" ? path : fileURLToPath(path)).replace(/\/+$/, "");

interface Loaded {
  mtime: number;
  size: number;
  body: Uint8Array;
  etag: string;
}

/** Reads a file, keeping it in memory until its mtime or size changes (a rebuild). */
function fileCache() {
  const cache = new Map<string, Loaded>();
  return async (path: string): Promise<Loaded | null> => {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    if (!stat.isFile) return null;
    const mtime = stat.mtime?.getTime() ?? 0;
    const hit = cache.get(path);
    if (hit && hit.mtime === mtime && hit.size === stat.size) return hit;
    const body = await Deno.readFile(path);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
    const etag = `"${btoa(String.fromCharCode(...digest.subarray(0, 16))).replace(/=+$/, "")}"`;
    const loaded = { mtime, size: stat.size, body, etag };
    cache.set(path, loaded);
    return loaded;
  };
}

/** Mounts the widget and demo routes on the app (pass as `startServer`'s `extra`). */
export function widgetRoutes(options: WidgetRouteOptions): (app: Hono) => void {
  const dist = dir(options.distDir);
  const demo = dir(options.demoDir);
  const allowed = originPolicy(options.allowedOrigins);
  const anyOrigin = options.allowedOrigins.includes("*");
  const read = fileCache();

  const send = (c: Context, file: Loaded, type: string, headers: Record<string, string>) => {
    const h = new Headers({
      "Content-Type": type,
      "ETag": file.etag,
      "X-Content-Type-Options": "nosniff",
      ...headers,
    });
    const match = c.req.header("If-None-Match");
    if (match && match.split(/\s*,\s*/).some((tag) => tag.replace(/^W\//, "") === file.etag)) {
      return new Response(null, { status: 304, headers: h });
    }
    h.set("Content-Length", String(file.size));
    return new Response(c.req.method === "HEAD" ? null : file.body as BodyInit, { headers: h });
  };

  const widgetFile = (name: string) => async (c: Context) => {
    const file = await read(`${dist}/${name}`);
    if (!file) {
      // A 5xx is our own fault (a deployment without the build): logged like every other.
      console.error(`Request failed: ${c.req.method} ${c.req.path}: ${dist}/${name} is missing`);
      return c.json(
        { error: { code: "INTERNAL_ERROR", message: "widget not built: run deno task build" } },
        503,
        { "Cache-Control": "no-store", "Retry-After": "10" },
      );
    }
    const origin = c.req.header("Origin");
    const cors: Record<string, string> = { "Vary": "Origin" };
    if (anyOrigin) cors["Access-Control-Allow-Origin"] = "*";
    else if (origin && allowed(origin, edgeOf(c.req.raw, c.env).origin)) {
      cors["Access-Control-Allow-Origin"] = origin;
    }
    if (name.endsWith(".js")) cors["X-TypeScript-Types"] = "/h5-uploader.d.ts";
    return send(c, file, typeOf(name), { "Cache-Control": CACHE, ...cors });
  };

  const demoFile = async (c: Context, name: string) => {
    // Only plain names under the demo folder: no "..", no hidden files.
    if (!/^[\w-]+(?:\/[\w-]+)*\.[a-z]+$/.test(name)) return c.notFound();
    const file = await read(`${demo}/${name}`);
    if (!file) return c.notFound();
    return send(c, file, typeOf(name), { "Cache-Control": "no-cache" });
  };

  return (app) => {
    for (const name of ["h5-uploader.js", "h5-uploader.js.map", "h5-uploader.d.ts"]) {
      app.get(`/${name}`, widgetFile(name));
    }
    app.get("/", (c) => demoFile(c, "index.html"));
    app.get("/demo/*", (c) => demoFile(c, c.req.path.slice("/demo/".length)));
  };
}
