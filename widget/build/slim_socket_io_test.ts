/**
 * widget/socket.ts bundled as the widget bundles it (socket.io-client → socket_io_client.ts),
 * against the real server: connect, ack a command, refuse a token.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../server/config.ts";
import { startServer } from "../../server/main.ts";
import { bundle } from "../build.ts";
import type { RealtimeSocket } from "../engine/types.ts";
import type { connectSocket as Connect } from "../socket.ts";

async function bundledConnect(dir: string): Promise<typeof Connect> {
  const { js } = await bundle(
    new URL("../socket.ts", import.meta.url).pathname,
    `${dir}/socket.js`,
  );
  await Deno.writeFile(`${dir}/socket.js`, js);
  return (await import(`file://${dir}/socket.js`)).connectSocket;
}

function once(socket: RealtimeSocket, event: string): Promise<unknown[]> {
  return new Promise((resolve) => socket.on(event, (...args) => resolve(args)));
}

Deno.test({
  name: "slim socket.io - the bundled client connects, gets acks and hears refusals",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "slim-socket-" });
    const server = await startServer(
      loadConfig({ H5_DATA_DIR: dir, PORT: "0", HOST: "127.0.0.1" }),
      { quiet: true },
    );
    const sockets: RealtimeSocket[] = [];
    try {
      const connectSocket = await bundledConnect(dir);
      const created = await fetch(`${server.url}/api/sessions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ category: "personal", clientType: "web" }),
      });
      const { sessionId, token } = await created.json();

      // A comeback: the count goes in the handshake's auth (a function socket.io calls per
      // attempt), and the server answers with connection-status (README, reconnectAttempts).
      let attempts = 2;
      const socket = connectSocket({
        url: server.url,
        sessionId,
        token,
        clientType: "web",
        reconnectAttempts: () => attempts,
      });
      sockets.push(socket);
      const statuses: { status: string; reconnectAttempts: number }[] = [];
      const back = new Promise<void>((resolve) =>
        socket.on("connection-status", (s) => {
          statuses.push(s as (typeof statuses)[number]);
          if (statuses.at(-1)!.status === "connected") resolve();
        })
      );
      await once(socket, "connect");
      attempts = 0;
      assert.equal(socket.connected, true);
      const ack = await new Promise<unknown>((resolve) =>
        socket.emit("upload-progress", { sessionId, fileId: "none", requestUpdate: true }, resolve)
      );
      assert.equal((ack as { ok: boolean }).ok, true, JSON.stringify(ack));
      assert.equal((ack as { data: { sessionId: string } }).data.sessionId, sessionId);
      await back;
      assert.deepEqual(
        statuses.map((
          s,
        ) => [
          (s as { status: string }).status,
          (s as { reconnectAttempts: number }).reconnectAttempts,
        ]),
        [["reconnecting", 2], ["connected", 2]],
      );

      const refused = connectSocket({
        url: server.url,
        sessionId,
        token: "forged",
        clientType: "web",
        reconnectAttempts: () => 0,
      });
      sockets.push(refused);
      const [error] = await once(refused, "connect_error");
      assert.match(String((error as Error).message), /INSUFFICIENT_PERMISSIONS|token|permission/i);
    } finally {
      for (const socket of sockets) socket.disconnect();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
