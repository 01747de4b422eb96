/**
 * Throughput of LocalDiskStorage.write (zero-copy path) against a bare
 * `req.body.pipeTo(file.writable)`, both behind Deno.serve, fed by a Node client.
 * Not a test: run it by hand.
 *
 *   deno run -A bench/storage_pipe.ts [file=/tmp/1g.bin] [rounds=3] [dir=/tmp]
 *
 * "bare+sync" adds one fdatasync at the end of the bare pipe: it separates the cost of the
 * storage's durability (which a bare pipe skips) from the cost of its code. With dir on a
 * tmpfs (/dev/shm) syncs are free and only the code's overhead is left.
 */
import { join } from "node:path";
import { LocalDiskStorage } from "../server/storage/local_disk.ts";

const FILE = Deno.args[0] ?? "/tmp/1g.bin";
const ROUNDS = Number(Deno.args[1] ?? 3);
const SIZE = 1024 * 1024 * 1024;
const DIR = Deno.args[2] ?? "/tmp";
const CLIENT = new URL("./http_put_client.mjs", import.meta.url).pathname;

await ensureInput(FILE);
const root = await Deno.makeTempDir({ dir: DIR, prefix: "storage_pipe_" });
const storage = new LocalDiskStorage(root);

const handlers: Record<string, (req: Request) => Promise<unknown>> = {
  async storage(req) {
    const id = crypto.randomUUID();
    await storage.create(id);
    const result = await storage.write(id, req.body!, {
      offset: 0,
      maxBytes: 2 ** 40,
      expectedBytes: Number(req.headers.get("content-length")),
    });
    await storage.removePart(id);
    return result;
  },
  // As the tus route will run it: a durable checkpoint every 250 ms (the default).
  async "storage+ckpt"(req) {
    const id = crypto.randomUUID();
    await storage.create(id);
    let checkpoints = 0;
    const result = await storage.write(id, req.body!, {
      offset: 0,
      maxBytes: 2 ** 40,
      expectedBytes: Number(req.headers.get("content-length")),
      onCheckpoint: () => void checkpoints++,
    });
    await storage.removePart(id);
    return { ...result, checkpoints };
  },
  async bare(req) {
    const path = join(root, `bare-${crypto.randomUUID()}`);
    const file = await Deno.open(path, { write: true, createNew: true });
    await req.body!.pipeTo(file.writable);
    await Deno.remove(path);
    return {};
  },
  async "bare+sync"(req) {
    const path = join(root, `bare-${crypto.randomUUID()}`);
    const file = await Deno.open(path, { write: true, createNew: true });
    await req.body!.pipeTo(file.writable);
    const again = await Deno.open(path, { write: true });
    await again.syncData();
    again.close();
    await Deno.remove(path);
    return {};
  },
};

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const handler = handlers[new URL(req.url).pathname.slice(1)];
  if (!handler) return new Response("not found", { status: 404 });
  return Response.json(await handler(req));
});

const mbps: Record<string, number[]> = {};
try {
  // Interleaved so that drift in the disk or page cache hits every variant alike.
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of Object.keys(handlers)) {
      // Writeback left over from the previous run would be billed to this one.
      await new Deno.Command("sync").output();
      const run = await put(`http://127.0.0.1:${server.addr.port}/${name}`);
      const rate = run.bytes / 1e6 / (run.ms / 1000);
      (mbps[name] ??= []).push(rate);
      console.log(
        `round ${round} ${name.padEnd(12)} ${rate.toFixed(0).padStart(5)} MB/s  ${run.body}`,
      );
    }
  }
} finally {
  await server.shutdown();
  await Deno.remove(root, { recursive: true });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\n${FILE} -> ${DIR}, ${ROUNDS} rounds`);
for (const [name, rates] of Object.entries(mbps)) {
  console.log(
    `${name.padEnd(12)} mean ${mean(rates).toFixed(0)} MB/s  (${
      rates.map((r) => r.toFixed(0)).join(", ")
    })`,
  );
}
for (const name of ["storage", "storage+ckpt"]) {
  for (const base of ["bare", "bare+sync"]) {
    const ratio = mean(mbps[name] ?? []) / mean(mbps[base] ?? []);
    console.log(`ratio ${name}/${base}`.padEnd(32) + ratio.toFixed(3));
  }
}
const status = await Deno.readTextFile("/proc/self/status");
console.log(status.split("\n").filter((line) => /^Vm(HWM|RSS)/.test(line)).join("\n"));

async function put(
  url: string,
): Promise<{ status: number; bytes: number; ms: number; body: string }> {
  const out = await new Deno.Command("node", { args: [CLIENT, url, FILE], stderr: "inherit" })
    .output();
  if (!out.success) throw new Error(`client failed for ${url}`);
  const run = JSON.parse(new TextDecoder().decode(out.stdout));
  if (run.status !== 200) throw new Error(`${url}: HTTP ${run.status} ${run.body}`);
  return run;
}

async function ensureInput(path: string): Promise<void> {
  try {
    if ((await Deno.stat(path)).size === SIZE) return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  console.log(`creating ${path} (1 GiB of random bytes)`);
  const made = await new Deno.Command("sh", {
    args: ["-c", `head -c ${SIZE} /dev/urandom > "$1"`, "sh", path],
  }).output();
  if (!made.success) throw new Error(`could not create ${path}`);
}
