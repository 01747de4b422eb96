/**
 * The widget's own Socket.IO client (socket_io_client.ts), with Deno's global WebSocket as the
 * browser's: against the real server (handshake with auth, room events, acks, refusals, a
 * dropped and an unreachable server through a TCP proxy that cuts), and against a scripted
 * Engine.IO server for the heartbeat (the real one pings every 25 s, too slow for a test).
 */
import assert from "node:assert/strict";
import type { ConnectionStatusEvent } from "../protocol/events.ts";
import { within } from "../tests/support/deadline.ts";
import { createSession, createUpload } from "../tests/support/http.ts";
import { type Scope, scoped } from "../tests/support/scope.ts";
import { startTestServer } from "../tests/support/server.ts";
import { io, type ManagerOptions, type Socket } from "./socket_io_client.ts";

type Seen = { name: string; args: unknown[] };

/** Every event of a socket and of its Manager, in order, with bounded waits. */
class Recorder {
  readonly all: Seen[] = [];
  #waiters = new Set<() => void>();

  constructor(socket: Socket, socketEvents: string[]) {
    const manager = ["reconnect_attempt", "reconnect", "reconnect_error", "reconnect_failed"];
    for (const name of ["connect", "connect_error", "disconnect", ...socketEvents]) {
      socket.on(name, (...args: unknown[]) => this.#push(name, args));
    }
    for (const name of manager) socket.io.on(name, (...args: unknown[]) => this.#push(name, args));
  }

  #push(name: string, args: unknown[]): void {
    this.all.push({ name, args });
    for (const wake of [...this.#waiters]) wake();
  }

  names(from = 0): string[] {
    return this.all.slice(from).map((e) => e.name);
  }

  /** The first `name` event at index >= from (that `test` accepts), waiting for it. */
  async next(name: string, from = 0, test: (args: unknown[]) => boolean = () => true) {
    const find = () => this.all.slice(from).find((e) => e.name === name && test(e.args));
    const found = find();
    if (found) return found.args;
    const { promise, resolve } = Promise.withResolvers<unknown[]>();
    const wake = () => {
      const seen = find();
      if (seen) resolve(seen.args);
    };
    this.#waiters.add(wake);
    try {
      return await within(promise, `"${name}" on the tiny client`);
    } finally {
      this.#waiters.delete(wake);
    }
  }
}

/** A TCP proxy in front of the server that can cut every connection and refuse new ones. */
class CutProxy {
  readonly port: number;
  #target: number;
  #listener: Deno.Listener | null;
  #conns = new Set<Deno.Conn>();

  constructor(target: number, port = 0) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accept(this.#listener);
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
      this.#conns.add(conn).add(upstream);
      const end = () => [conn, upstream].forEach((c) => this.#close(c));
      conn.readable.pipeTo(upstream.writable).catch(() => {}).finally(end);
      upstream.readable.pipeTo(conn.writable).catch(() => {}).finally(end);
    }
  }

  #close(conn: Deno.Conn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch { /* already closed by its pipe */ }
  }

  /** Every open connection ends at once (the network dropped under the socket). */
  cut(): void {
    for (const conn of [...this.#conns]) this.#close(conn);
  }

  /** Refuses connections from now on (the server is unreachable) and cuts the open ones. */
  stop(): void {
    this.#listener?.close();
    this.#listener = null;
    this.cut();
  }

  /** Accepts again on the same port. */
  restart(): void {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#accept(this.#listener);
  }
}

function connect(url: string, scope: Scope, opts: ManagerOptions, events: string[] = []) {
  const socket = io(url, { path: "/socket.io", transports: ["websocket"], ...opts });
  scope.defer("disconnect the tiny client", () => socket.disconnect());
  return { socket, log: new Recorder(socket, events) };
}

const FAST = { reconnectionDelay: 10, reconnectionDelayMax: 50 };

Deno.test({
  name: "tiny socket.io - connects with a token, hears its room and gets acks",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    scoped(async (scope) => {
      const server = await startTestServer({ scope });
      const session = await createSession(server.url);
      const { socket, log } = connect(server.url, scope, {
        auth: { token: session.token },
        query: { sessionId: session.sessionId, clientType: "web" },
      }, ["connection-status", "upload-progress"]);

      const [status] = await log.next("connection-status");
      assert.equal((status as ConnectionStatusEvent).status, "connected");
      await log.next("connect");
      assert.equal(socket.connected, true);
      assert.match(socket.id ?? "", /\S/, "the server's sid");

      const up = await createUpload(server.url, session, { size: 10 });
      await log.next("upload-progress", 0, ([e]) =>
        (e as { currentFile?: { id: string } }).currentFile?.id === up.id);

      // Two commands in flight: each ack reaches its own callback.
      const acks = await within(
        Promise.all([up.id, "none"].map((fileId) =>
          new Promise<unknown>((resolve) =>
            socket.emit(
              "upload-progress",
              { sessionId: session.sessionId, fileId, requestUpdate: true },
              resolve,
            )
          )
        )),
        "two acks",
      ) as { ok: boolean; data: { sessionId: string } }[];
      for (const ack of acks) {
        assert.equal(ack.ok, true, JSON.stringify(ack));
        assert.equal(ack.data.sessionId, session.sessionId);
      }

      socket.disconnect();
      assert.equal(socket.connected, false);
      assert.deepEqual(await log.next("disconnect"), ["io client disconnect"]);
      assert.equal(log.names().includes("reconnect_attempt"), false);
    }),
});

Deno.test({
  name: "tiny socket.io - a wrong token: connect_error with the server's data, no retry",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    scoped(async (scope) => {
      const server = await startTestServer({ scope });
      const session = await createSession(server.url);
      const { socket, log } = connect(server.url, scope, {
        auth: (cb) => cb({ token: "forged" }),
        query: { sessionId: session.sessionId, clientType: "web" },
        ...FAST,
      });
      const [error] = await log.next("connect_error");
      assert.ok(error instanceof Error);
      const data = (error as Error & { data?: { code?: string } }).data;
      assert.equal(data?.code, "INSUFFICIENT_PERMISSIONS", JSON.stringify(data));
      // Refused, like socket.io-client: inactive, and the Manager does not retry by itself.
      assert.equal(socket.active, false);
      assert.equal(socket.connected, false);
      assert.equal(socket.io.readyState, "closed");
      assert.equal(socket.io.reconnecting, false);
    }),
});

Deno.test({
  name: "tiny socket.io - a dropped and an unreachable server: reconnect_attempt ... reconnect",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    scoped(async (scope) => {
      const server = await startTestServer({ scope });
      const proxy = new CutProxy(Number(new URL(server.url).port));
      scope.defer("stop the proxy", () => proxy.stop());
      const session = await createSession(server.url);
      let attempts = 0;
      let auths = 0;
      const { socket, log } = connect(`http://127.0.0.1:${proxy.port}`, scope, {
        // A function, called before every attempt (the widget counts its attempts in it).
        auth: (cb) => {
          auths++;
          cb({ token: session.token, reconnectAttempts: attempts });
        },
        query: { sessionId: session.sessionId, clientType: "web" },
        reconnectionAttempts: 3,
        ...FAST,
      }, ["connection-status", "upload-progress"]);
      socket.io.on("reconnect_attempt", (n: number) => attempts = n);
      await log.next("connect");

      // The network drops: disconnect, one attempt, reconnect; the server hears the count.
      let mark = log.all.length;
      proxy.cut();
      assert.deepEqual(await log.next("disconnect", mark), ["transport close"]);
      assert.deepEqual(await log.next("reconnect", mark), [1]);
      await log.next("connect", mark);
      const [back] = await log.next("connection-status", mark, ([s]) =>
        (s as ConnectionStatusEvent).status === "connected");
      assert.equal((back as ConnectionStatusEvent).reconnectAttempts, 1);
      assert.deepEqual(log.names(mark).slice(0, 4), [
        "disconnect",
        "reconnect_attempt",
        "reconnect",
        "connect",
      ]);
      assert.equal(auths, 2);

      // Unreachable: every attempt fails (connect_error, reconnect_error), then it gives up.
      mark = log.all.length;
      proxy.stop();
      await log.next("reconnect_failed", mark);
      const tried = log.all.slice(mark).filter((e) =>
        e.name === "reconnect_attempt"
      );
      assert.deepEqual(tried.map((e) => e.args[0]), [1, 2, 3]);
      assert.equal(log.names(mark).filter((n) => n === "reconnect_error").length, 3);
      assert.equal(log.names(mark).filter((n) => n === "connect_error").length, 3);
      assert.equal(socket.active, true, "still active: connect() may try again");

      // The engine's redials while it polls: reconnection off, one attempt per connect().
      mark = log.all.length;
      socket.io.reconnection(false);
      assert.equal(socket.io.reconnection(), false);
      socket.connect();
      await log.next("connect_error", mark);
      assert.equal(socket.io.reconnecting, false, "no reconnection of its own");
      assert.deepEqual(log.names(mark), ["connect_error"]);

      // Reachable again: connect() gets the socket and its room back.
      mark = log.all.length;
      proxy.restart();
      socket.connect();
      await log.next("connect", mark);
      const up = await createUpload(server.url, session, { size: 10 });
      await log.next("upload-progress", mark, ([e]) =>
        (e as { currentFile?: { id: string } }).currentFile?.id === up.id);
    }),
});

/** A scripted Engine.IO v4 server: pings every `every` ms while `pinging`, counts pongs. */
function heartbeatServer(scope: Scope, every: number) {
  const state = { pinging: true, pongs: 0, connections: 0, onPong: () => {} };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    state.connections++;
    let timer: ReturnType<typeof setInterval> | undefined;
    socket.onopen = () => {
      const open = { sid: "e1", upgrades: [], pingInterval: every, pingTimeout: 8 * every };
      socket.send(`0${JSON.stringify(open)}`);
      timer = setInterval(() => state.pinging && socket.send("2"), every);
    };
    socket.onmessage = ({ data }) => {
      if (data === "3") {
        state.pongs++;
        state.onPong();
      }
      if (data.startsWith("40")) socket.send(`40{"sid":"s1"}`);
    };
    socket.onclose = () => clearInterval(timer);
    scope.defer("stop the pings", () => clearInterval(timer));
    return response;
  });
  scope.defer("stop the heartbeat server", () => server.shutdown());
  return { url: `http://127.0.0.1:${server.addr.port}`, state };
}

Deno.test({
  name: "tiny socket.io - pongs keep it alive past pingTimeout; offline or no pings: it reconnects",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    scoped(async (scope) => {
      // Deadline 450 ms after each ping: a loaded machine does not skip a 50 ms ping that long.
      const every = 50;
      const { url, state } = heartbeatServer(scope, every);
      const { socket, log } = connect(url, scope, { auth: { token: "t" }, ...FAST });
      await log.next("connect");
      // 20 pongs = 1 s, twice pingInterval + pingTimeout (450 ms): the pongs keep it alive.
      const pongs = Promise.withResolvers<void>();
      state.onPong = () => state.pongs >= 20 && pongs.resolve();
      await within(pongs.promise, "20 pongs");
      assert.equal(socket.connected, true);
      assert.deepEqual(log.names(), ["connect"]);

      // The browser says the network is gone: closed at once, as engine.io-client does.
      dispatchEvent(new Event("offline"));
      assert.deepEqual(await log.next("disconnect"), ["transport close"]);
      assert.deepEqual(await log.next("reconnect"), [1]);
      let mark = log.all.length;
      await log.next("connect", mark - 1);
      assert.equal(state.connections, 2);

      mark = log.all.length;
      state.pinging = false;
      assert.deepEqual(await log.next("disconnect", mark), ["ping timeout"]);
      assert.deepEqual(await log.next("reconnect", mark), [1]);
      await log.next("connect", mark);
      assert.equal(state.connections, 3);
    }),
});
