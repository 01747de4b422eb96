/** The sessions API: create a session, read its snapshot (the polling fallback). */
import type { Category, ClientType } from "../../protocol/events.ts";
import type { CreateSessionResponse, SessionSnapshot } from "../../protocol/session.ts";
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

export async function getSnapshot(
  http: HttpStack,
  endpoint: string,
  sessionId: string,
  token: string,
  signal?: AbortSignal,
): Promise<SessionSnapshot> {
  const res = await send(http, {
    method: "GET",
    url: `${endpoint}/api/sessions/${encodeURIComponent(sessionId)}`,
    headers: { Authorization: `Bearer ${token}` },
    signal,
  });
  return JSON.parse(res.text);
}
