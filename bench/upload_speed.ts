/**
 * Upload throughput and server memory: our server (tus, sessions, a Socket.IO watcher)
 * against the limit, a bare `Deno.serve` that pipes the body into a file, and the limit
 * plus one fdatasync (what durability alone costs), all driven by the same Node client,
 * measured in one run. Prints a table and writes bench/results/upload.json.
 *
 *   deno run -A bench/upload_speed.ts [--quick] [--rounds=3] [--dir=bench/tmp]
 */
import { io } from "socket.io-client";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const quick = args.has("quick");
const rounds = Number(args.get("rounds") ?? (quick ? 1 : 3));
const dir = args.get("dir") ?? new URL("./tmp", import.meta.url).pathname;
const MiB = 2 ** 20;
const bigSize = quick ? 256 * MiB : 1024 * MiB;
const CLIENT = new URL("./upload_client.mjs", import.meta.url).pathname;
const MAIN = new URL("../server/main.ts", import.meta.url).pathname;
const BARE = new URL("./bare_server.ts", import.meta.url).pathname;

type ServerKind = "bare" | "bare+sync" | "h5";
interface Scenario {
  name: string;
  fileSize: number;
  concurrency: number;
  chunk: number;
  servers: ServerKind[];
}
const scenarios: Scenario[] = [
  {
    name: `single ${bigSize / MiB} MiB, one PATCH`,
    fileSize: bigSize,
    concurrency: 1,
    chunk: 0,
    servers: ["bare", "bare+sync", "h5"],
  },
  {
    name: `single ${bigSize / MiB} MiB, 8 MiB PATCHes`,
    fileSize: bigSize,
    concurrency: 1,
    chunk: 8 * MiB,
    servers: ["h5"],
  },
  {
    name: "16 concurrent 64 MiB",
    fileSize: 64 * MiB,
    concurrency: 16,
    chunk: 0,
    servers: ["bare", "bare+sync", "h5"],
  },
];

async function ensureFile(size: number): Promise<string> {
  const path = `${dir}/input-${size}.bin`;
  try {
    if ((await Deno.stat(path)).size === size) return path;
  } catch { /* create below */ }
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(MiB);
  for (let written = 0; written < size; written += MiB) {
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
    await file.write(block.subarray(0, Math.min(MiB, size - written)));
  }
  file.close();
  return path;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function startServer(kind: ServerKind, dataDir: string) {
  const port = freePort();
  const env: Record<string, string> = { PORT: String(port), HOST: "127.0.0.1", NO_COLOR: "1" };
  let args: string[];
  if (kind === "h5") {
    Object.assign(env, {
      H5_DATA_DIR: dataDir,
      H5_SCENIC_ALLOWED_TYPES: "*/*",
      H5_SCENIC_MAX_FILES: "1000",
    });
    args = ["run", "-A", MAIN];
  } else {
    if (kind === "bare+sync") env.BARE_SYNC = "1";
    args = ["run", "-A", BARE, dataDir];
  }
  const child = new Deno.Command(Deno.execPath(), { args, env, stdout: "piped", stderr: "inherit" })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${kind} server exited before listening`);
    seen += value;
  }
  void (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { child, url: `http://127.0.0.1:${port}` };
}

function peakRssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function session(url: string) {
  const res = await fetch(`${url}/api/sessions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ category: "scenic", clientType: "web" }),
  });
  const s = await res.json() as { sessionId: string; token: string };
  const socket = io(url, {
    auth: { token: s.token },
    query: { sessionId: s.sessionId, clientType: "web" },
    transports: ["websocket"],
  });
  let progressEvents = 0;
  socket.on("upload-progress", () => progressEvents++);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return { ...s, socket, progress: () => progressEvents };
}

async function runClient(
  mode: "tus" | "put",
  url: string,
  file: string,
  scenario: Scenario,
  token = "",
) {
  const out = await new Deno.Command("node", {
    args: [CLIENT, mode, url, file, String(scenario.concurrency), String(scenario.chunk), token],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const result = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    ms: number;
    bytes: number;
    statuses: number[];
  };
  const expected = mode === "tus" ? 204 : 204;
  if (result.statuses.some((s) => s !== expected)) {
    throw new Error(`upload failed: ${result.statuses.join(",")}`);
  }
  return (result.bytes / 1e6) / (result.ms / 1000);
}

async function sync() {
  await new Deno.Command("sync").output();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await Deno.mkdir(dir, { recursive: true });
const results: Record<string, Record<string, { mbps: number[]; peakRssMiB: number }>> = {};
for (const scenario of scenarios) {
  const file = await ensureFile(scenario.fileSize);
  results[scenario.name] = {};
  for (const kind of scenario.servers) {
    const dataDir = await Deno.makeTempDir({ dir, prefix: `${kind.replace("+", "-")}-` });
    await sync();
    const server = await startServer(kind, dataDir);
    const mbps: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (kind === "h5") {
        const s = await session(server.url);
        mbps.push(await runClient("tus", server.url, file, scenario, s.token));
        s.socket.disconnect();
      } else {
        mbps.push(await runClient("put", server.url, file, scenario));
      }
      await Deno.writeTextFile(
        "/dev/stderr",
        `  ${scenario.name} · ${kind} · round ${r + 1}: ${mbps.at(-1)!.toFixed(0)} MB/s\n`,
      );
    }
    const peak = peakRssMiB(server.child.pid);
    server.child.kill("SIGTERM");
    await server.child.status;
    await Deno.remove(dataDir, { recursive: true });
    results[scenario.name]![kind] = { mbps, peakRssMiB: peak };
  }
}

console.log(
  "\n| scenario | server | MB/s min / median / max | ratio to bare | ratio to bare+sync | peak RSS MiB |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
const single = results[scenarios[0]!.name]!;
for (const [name, byServer] of Object.entries(results)) {
  const ref = byServer.bare ?? single.bare!;
  const refSync = byServer["bare+sync"] ?? single["bare+sync"]!;
  for (const [kind, r] of Object.entries(byServer)) {
    const m = median(r.mbps);
    console.log(
      `| ${name} | ${kind} | ${Math.min(...r.mbps).toFixed(0)} / ${m.toFixed(0)} / ${
        Math.max(...r.mbps).toFixed(0)
      } | ${(m / median(ref.mbps)).toFixed(2)} | ${
        (m / median(refSync.mbps)).toFixed(2)
      } | ${r.peakRssMiB} |`,
    );
  }
}
await Deno.mkdir(new URL("./results", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/upload.json", import.meta.url),
  JSON.stringify(
    { date: new Date().toISOString(), quick, rounds, cpus: navigator.hardwareConcurrency, results },
    null,
    2,
  ) + "\n",
);
Deno.exit(0);
