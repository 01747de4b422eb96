/**
 * The socket's file commands over HTTP (`POST /api/sessions/:id/files/:fileId/pause|resume|
 * cancel`, README's HTTP API), for a client whose socket is down: the server runs the socket's
 * service path, so a pause is enforced there and the room hears it. The answer is the socket's
 * ack; a refusal becomes the ack's `{ok: false, error}` with the server's code.
 */
import { HttpError, send } from "./tus_client.ts";
import type { HttpStack } from "./types.ts";

/** What a command's ack says (socket or HTTP); the engine reads both alike. */
export interface CommandAck {
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string };
}

/** Sends one command; undefined for a command with no HTTP form (`upload-start`) or an abort. */
export type SendCommand = (
  name: string,
  payload: { sessionId: string; fileId?: string; [key: string]: unknown },
) => Promise<CommandAck | undefined>;

export const httpCommands = (
  http: HttpStack,
  endpoint: string,
  token: string,
  signal: AbortSignal,
): SendCommand =>
async (name, { sessionId, fileId }) => {
  // upload-pause, -resume, -cancel name one file; upload-start (fileIds) has no HTTP form.
  if (!fileId) return;
  try {
    const res = await send(http, {
      method: "POST",
      url: `${endpoint}/api/sessions/${encodeURIComponent(sessionId)}/files/${
        encodeURIComponent(fileId)
      }/${name.slice(7)}`,
      headers: { Authorization: `Bearer ${token}` },
      signal,
    });
    return JSON.parse(res.text);
  } catch (error) {
    // An abort (destroy) is no answer; anything else is the server's or the network's.
    if (error instanceof HttpError) {
      return { ok: false, error: { code: error.code, message: error.message } };
    }
  }
};
