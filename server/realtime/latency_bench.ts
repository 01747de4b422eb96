/**
 * Publish-to-receive latency through the public hop vs. straight to the internal server.
 * Run: deno run -A server/realtime/latency_bench.ts [events=1000] [clients=10]
 * Events are published one at a time (the next once all clients got the previous), so the
 * numbers are latency, not queueing.
 */
import type { AddressInfo } from "node:net";
import { io as connectClient } from "socket.io-client";
import { Harness, sentinel, SESSION_A } from "./test_support.ts";
import type { Client } from "./test_support.ts";

const EVENTS = Number(Deno.args[0] ?? 1000);
const CLIENTS = Number(Deno.args[1] ?? 10);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(h: Harness, clients: Client[]): Promise<number[]> {
  const samples: number[] = [];
  let publishedAt = 0;
  let pending = 0;
  let done: () => void = () => {};
  for (const client of clients) {
    client.on("upload-started", () => {
      samples.push(performance.now() - publishedAt);
      if (--pending === 0) done();
    });
  }
  for (let i = 0; i < EVENTS + 50; i++) {
    const all = new Promise<void>((resolve) => done = resolve);
    pending = clients.length;
    publishedAt = performance.now();
    h.bus.publish(sentinel(SESSION_A, `f${i}`));
    await all;
    if (i === 49) samples.length = 0; // warm-up
  }
  for (const client of clients) client.off("upload-started");
  return samples.sort((a, b) => a - b);
}

async function connected(client: Client): Promise<Client> {
  await new Promise<void>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("connect_error", reject);
  });
  return client;
}

const h = await Harness.start({ rateLimit: { events: 1000, perMs: 1000 } });
const internal = (h.realtime.io.httpServer.address() as AddressInfo).port;
const rows: Record<string, string>[] = [];
for (const transport of ["websocket", "polling"] as const) {
  for (const via of ["hop", "direct"] as const) {
    const base = via === "hop" ? h.url : `http://127.0.0.1:${internal}`;
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        connected(connectClient(base, {
          forceNew: true,
          reconnection: false,
          transports: [transport],
          query: { sessionId: SESSION_A, clientType: "web" },
          auth: { token: `good-${SESSION_A}` },
        }))),
    );
    const samples = await measure(h, clients);
    rows.push({
      transport,
      via,
      samples: String(samples.length),
      p50_ms: percentile(samples, 50).toFixed(3),
      p99_ms: percentile(samples, 99).toFixed(3),
      max_ms: (samples.at(-1) ?? NaN).toFixed(3),
    });
    for (const client of clients) client.close();
  }
}
console.table(rows);
await h.realtime.close();
await h.server.shutdown();
