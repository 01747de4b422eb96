/**
 * Issue #8, item 6, server part: a client that comes back reports how many reconnection
 * attempts it took (`auth.reconnectAttempts`), and hears the spec's `connection-status`
 * `reconnecting`, then `connected`, both carrying it. Real server, real socket.io-client.
 */
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import type { ConnectionStatusEvent } from "../protocol/events.ts";
import { within } from "./support/deadline.ts";
import { createSession, createUpload } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";
import {
  type Client,
  closeSocket,
  connectWatcher,
  EventLog,
  refusedConnection,
} from "./support/socket.ts";

function statuses(log: EventLog, from = 0): ConnectionStatusEvent[] {
  return log.all.slice(from).filter((e) => e.name === "connection-status").map((e) =>
    e.payload as ConnectionStatusEvent
  );
}

Deno.test("connection-status: a client whose transport dropped comes back reconnecting, then connected", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const session = await createSession(server.url);
    let attempts = 0;
    // What a real client does: Socket.IO calls `auth` before every connection attempt, and
    // counts its attempts in `reconnect_attempt`.
    const socket: Client = io(server.url, {
      path: "/socket.io",
      forceNew: true,
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 10,
      reconnectionDelayMax: 50,
      auth: (cb) => cb({ token: session.token, reconnectAttempts: attempts }),
      query: { sessionId: session.sessionId, clientType: "web" },
    });
    scope.defer("close the reconnecting socket", () => closeSocket(socket));
    socket.io.on("reconnect_attempt", (n) => attempts = n);
    const log = EventLog.of(socket);

    const first = await log.waitFor("connection-status", (s) => s.status === "connected");
    assert.equal(first.reconnectAttempts, 0, "a first connection reports 0 attempts");
    assert.deepEqual(statuses(log).map((s) => s.status), ["connected"]);

    // The network drops under the socket: the client reconnects on its own.
    const back = Promise.withResolvers<number>();
    socket.io.once("reconnect", (n) => back.resolve(n));
    const mark = log.all.length;
    socket.io.engine.close();
    const took = await within(back.promise, "the client to reconnect");
    assert.ok(took >= 1);

    await log.waitFor("connection-status", (s) => s.status === "connected", { from: mark });
    const seen = statuses(log, mark);
    assert.deepEqual(seen.map((s) => s.status), ["reconnecting", "connected"]);
    for (const status of seen) {
      assert.equal(status.reconnectAttempts, took, `${status.status} carries the attempts`);
      assert.equal(status.retryCount, took, `${status.status}: the spec's retryCount`);
      assert.equal(typeof status.message, "string");
    }

    // Back in its session's room: it hears what happens there.
    const up = await createUpload(server.url, session, { size: 10 });
    await log.waitFor("upload-progress", (e) => e.currentFile?.id === up.id, { from: mark });
  }));

Deno.test("connection-status: reconnectAttempts in the handshake is validated and echoed", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope });
    const session = await createSession(server.url);
    const base = { sessionId: session.sessionId, token: session.token };

    const back = await connectWatcher(server.url, {
      ...base,
      scope,
      auth: { reconnectAttempts: 3 },
    });
    assert.deepEqual(
      statuses(back.events).map((s) => [s.status, s.reconnectAttempts, s.retryCount]),
      [["reconnecting", 3, 3], ["connected", 3, 3]],
    );

    for (const bad of [-1, 1.5, "many", true, 10_000_000]) {
      const refused = await refusedConnection(server.url, {
        ...base,
        auth: { reconnectAttempts: bad },
      });
      assert.equal(
        refused.data?.code,
        "INVALID_REQUEST",
        `reconnectAttempts ${JSON.stringify(bad)}`,
      );
      assert.match(refused.data?.details ?? "", /reconnectAttempts/);
    }
  }));
