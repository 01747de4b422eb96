/**
 * What an idle watcher costs the server: `deno run -A bench/realtime/idle_probe.ts [N]`
 * starts the server as a child (under `--inspect`), connects N (default 1,000) websocket
 * watchers to one session and prints the resident size before and after, and the JavaScript
 * heap after a forced GC: the rest is the runtime's own per-connection memory. The probe behind
 * README's "Round 2: WebSockets in process" figures.
 */
import { io, type Socket } from "socket.io-client";
import { waitForListening } from "../lib/child.ts";
import { InspectorSession } from "../lib/inspector.ts";

const MAIN = new URL("../../server/main.ts", import.meta.url).pathname;
const count = Number(Deno.args[0] ?? 1000);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const port = freePort();
const inspectPort = freePort();
const dataDir = await Deno.makeTempDir({ prefix: "h5-idle-probe-" });
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", `--inspect=127.0.0.1:${inspectPort}`, MAIN],
  env: {
    PORT: String(port),
    HOST: "127.0.0.1",
    H5_DATA_DIR: dataDir,
    H5_SOCKET_RATE: String(count * 2),
    H5_MAX_SOCKETS_PER_IP: String(count + 16),
    H5_MAX_CONNECTIONS_PER_IP: String(count + 64),
    NO_COLOR: "1",
  },
  stdout: "piped",
  stderr: "null",
}).spawn();
const sockets: Socket[] = [];
try {
  const url = `http://127.0.0.1:${port}`;
  await waitForListening(child.stdout, "h5-uploader", { timeoutMs: 30_000 });
  const rssMiB = () =>
    Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))?.[1]) / 1024;
  const res = await fetch(`${url}/api/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ category: "scenic", clientType: "web" }),
  });
  const { sessionId, token } = await res.json() as { sessionId: string; token: string };
  const connect = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = io(url, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        auth: { token },
        query: { sessionId, clientType: "web" },
      });
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", reject);
    });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 2000));
  // Warm: the first socket loads code that is not what is measured.
  (await connect()).close();
  await settle();
  const inspector = await InspectorSession.open(inspectPort);
  const heapMiB = async () => {
    await inspector.call("HeapProfiler.collectGarbage");
    const { usedSize } = await inspector.call<{ usedSize: number }>("Runtime.getHeapUsage");
    return usedSize / 2 ** 20;
  };
  const before = { rss: rssMiB(), heap: await heapMiB() };
  for (let i = 0; i < count; i += 50) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(50, count - i) }, connect)));
  }
  await settle();
  const after = { rss: rssMiB(), heap: await heapMiB() };
  inspector.close();
  const perWatcherKiB = (from: number, to: number) => Math.round(((to - from) * 1024) / count);
  console.log(JSON.stringify({
    watchers: count,
    rssMiB: [Math.round(before.rss), Math.round(after.rss)],
    rssPerWatcherKiB: perWatcherKiB(before.rss, after.rss),
    heapPerWatcherKiB: perWatcherKiB(before.heap, after.heap),
    loadAverage: Deno.loadavg()[0],
  }));
} finally {
  for (const socket of sockets) socket.close();
  child.kill("SIGTERM");
  await child.status;
  await Deno.remove(dataDir, { recursive: true });
}
