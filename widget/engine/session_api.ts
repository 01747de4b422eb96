/** The sessions API: create a session, read its snapshot (the polling fallback), limits. */
import type { Category, ClientType } from "../../protocol/events.ts";
import type {
  CategoriesResponse,
  CategoryLimits,
  CreateSessionResponse,
  SessionSnapshot,
} from "../../protocol/session.ts";
import { send } from "./tus_client.ts";
import type { HttpStack } from "./types.ts";

export async function createSession(
  http: HttpStack,
  endpoint: string,
  body: { category: Category; clientType: ClientType },
  signal?: AbortSignal,
): Promise<CreateSessionResponse> {
  const res = await send(http, {
    method: "POST",
    url: `${endpoint}/api/sessions`,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  return JSON.parse(res.text);
}

/** A GET answered with JSON (with the session's bearer token when given). */
async function getJson<T>(
  http: HttpStack,
  url: string,
  signal?: AbortSignal,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return JSON.parse((await send(http, { method: "GET", url, headers, signal })).text);
}

export function getSnapshot(
  http: HttpStack,
  endpoint: string,
  sessionId: string,
  token: string,
  signal?: AbortSignal,
): Promise<SessionSnapshot> {
  return getJson(http, `${endpoint}/api/sessions/${encodeURIComponent(sessionId)}`, signal, token);
}

/**
 * The limits that will apply, known before any upload request: the given session's (its
 * snapshot carries them when the server sends them), else the category's from the public,
 * cacheable `GET /api/categories`.
 */
export async function getLimits(
  http: HttpStack,
  endpoint: string,
  category: Category,
  session: { id: string; token: string } | null,
  signal?: AbortSignal,
): Promise<CategoryLimits> {
  const own = session &&
    (await getSnapshot(http, endpoint, session.id, session.token, signal) as {
      limits?: CategoryLimits;
    }).limits;
  return own ||
    (await getJson<CategoriesResponse>(http, `${endpoint}/api/categories`, signal))
      .categories[category];
}
