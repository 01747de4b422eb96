/**
 * The upload part of `deno task bench`: h5-uploader against the limit (a bare `Deno.serve`
 * piping the body into a file) and the peers a user would pick instead (@tus/server with its
 * FileStore on Node, Express + multer), all driven by curl (`client.mjs` spawns one curl per
 * upload; Node only creates sessions and tus uploads and runs the watchers) with the same
 * files, in one run. The single upload runs twice: data folder on the disk and on a tmpfs
 * (`bench/lib/tmpfs.ts`), where an fdatasync costs nothing. `--compare=<checkout>` adds
 * "h5-uploader (before)", the server of another checkout, to the single-upload scenarios. Per stack and scenario: MB/s (min, median, max over rounds), ratio
 * to the limit, server peak RSS (VmHWM of a fresh server process) and server CPU seconds per
 * GiB (utime + stime from /proc). Every stored file is checked by sha256 against its input;
 * a lost, extra or corrupt file throws, naming the stack, the scenario and the file.
 *
 * Scenarios: one big upload in one PATCH (PUT for the limit, multipart POST for multer); the
 * same in 8 MiB PATCHes (tus stacks); 16 concurrent uploads; many sessions of 2–5 MiB photos,
 * each with a Socket.IO watcher on our server; memory as work grows (a 4x bigger upload, 1, 16
 * and 64 concurrent uploads) on our server.
 */
import { createHash } from "node:crypto";
import type { BenchContext, BenchPart, BenchPartResult, BenchRow } from "../lib/part.ts";
import { peakRssMiB, waitForListening } from "../lib/child.ts";
import { openTmpfs } from "../lib/tmpfs.ts";
import { measureDiskSync } from "./disk_sync.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const HERE = new URL(".", import.meta.url).pathname;
const CLIENT = `${HERE}client.mjs`;
const BARE = new URL("../bare_server.ts", import.meta.url).pathname;
const PEERS = `${HERE}peers`;
const MAIN = new URL("../../server/main.ts", import.meta.url).pathname;
/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 nearly always). */
let clockTicks = 0;
async function clkTck(): Promise<number> {
  if (clockTicks) return clockTicks;
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
    clockTicks = Number(new TextDecoder().decode(out.stdout).trim()) || 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

export type Stack =
  | "limit"
  | "limit+fsync"
  | "h5-uploader"
  | "h5-uploader (before)"
  | "@tus/server"
  | "express+multer";
/** Where the servers' data folders are. */
export type Where = "disk" | "tmpfs";

/** `--compare=<checkout>`: another checkout's server, measured beside ours. */
const COMPARE = Deno.args.find((a) => a.startsWith("--compare="))?.slice(10);

interface Plan {
  /** Rounds of the big single uploads. */
  rounds: number;
  /** Rounds of the concurrent and the sessions scenarios (short, so noisier). */
  smallRounds: number;
  single: number;
  chunk: number;
  concurrentUploads: number;
  concurrentSize: number;
  sessions: number;
  large: number;
  growthSize: number;
  growthConcurrency: number[];
  /** Also run the limit plus one fdatasync per file (what durability alone costs). */
  fsyncReference: boolean;
  /** The storage's write path alone, from memory to the disk (no network). */
  diskAlone: number;
}

const PLANS: Record<"quick" | "full", Plan> = {
  quick: {
    rounds: 3,
    smallRounds: 3,
    single: 256 * MiB,
    chunk: 8 * MiB,
    concurrentUploads: 16,
    concurrentSize: 16 * MiB,
    sessions: 20,
    large: 1 * GiB,
    growthSize: 16 * MiB,
    growthConcurrency: [1, 16, 64],
    fsyncReference: true,
    diskAlone: 1 * GiB,
  },
  full: {
    rounds: 3,
    smallRounds: 3,
    single: 1 * GiB,
    chunk: 8 * MiB,
    concurrentUploads: 16,
    concurrentSize: 64 * MiB,
    sessions: 100,
    large: 4 * GiB,
    growthSize: 64 * MiB,
    growthConcurrency: [1, 16, 64],
    fsyncReference: true,
    diskAlone: 1 * GiB,
  },
};

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface StackFigures {
  mbps: Spread;
  /** MB/s of each round, in round order (rounds of one group run interleaved: pairable). */
  perRound: number[];
  /** Median MB/s over the limit's median in the same scenario. */
  ratioToLimit: number | null;
  peakRssMiB: number;
  /** Server utime + stime during the uploads (not the session and socket setup), per GiB. */
  cpuSecondsPerGiB: number;
  cpuSplitPerGiB: { user: number; system: number };
  rounds: number;
  /** Socket watchers: upload-completed events heard / expected (h5-uploader with sessions). */
  watchers?: {
    heard: number;
    expected: number;
    /** From the first upload request to the last upload-completed heard. */
    lastEventMs: number;
    /** Creating the sessions and connecting their watchers (not in MB/s or CPU per GiB). */
    setupMs: number;
    setupCpuSeconds: number;
  };
}

export interface Input {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

export interface ClientJob {
  mode: "tus" | "put" | "multipart";
  /** curl (default) or Node's http client for the requests that carry the bytes. */
  transport?: "curl" | "node";
  files: Input[];
  chunk?: number;
  sessions?: number;
  watch?: boolean;
}

export interface ClientResult {
  ms: number;
  bytes: number;
  setupMs: number;
  statuses: number[];
  details: string[];
  completed: { heard: number; expected: number; lastMs: number };
  /** tus only: per file, where the finished upload is and the token that reads it back. */
  uploads?: ({ url: string; token: string | null } | null)[];
}

interface Running {
  child: Deno.ChildProcess;
  url: string;
  stack: Stack;
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? null : Math.round((a / b) * 1000) / 1000;
const round1 = (n: number) => Math.round(n * 10) / 10;
const perGiB = (seconds: number, bytes: number) =>
  Math.round((seconds / (bytes / GiB)) * 1000) / 1000;
const mib = (bytes: number) => bytes / MiB;
const sizeLabel = (bytes: number) =>
  bytes >= GiB && bytes % GiB === 0 ? `${bytes / GiB} GiB` : `${round1(mib(bytes))} MiB`;

function spread(xs: number[], round = round1): Spread {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2
    ? sorted[Math.floor(mid)]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: round(sorted[0]!), median: round(median), max: round(sorted.at(-1)!) };
}

/**
 * Ratios of two stacks measured in the same rounds, round by round (neighbours in time on a
 * shared machine), as min, median and max.
 */
export function pairedRatios(a: number[] | undefined, b: number[] | undefined): Spread | null {
  if (!a?.length || !b || a.length !== b.length) return null;
  return spread(a.map((x, i) => x / b[i]!), (n) => Math.round(n * 1000) / 1000);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function sync(): Promise<void> {
  await new Deno.Command("sync").output();
}

/** sha256 of whole files on worker threads, one per core (hashing is the slow part). */
export class HashPool {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: (() => void)[] = [];
  #next = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./hash_worker.ts", import.meta.url), { type: "module" });
      this.#workers.push(worker);
      this.#idle.push(worker);
    }
  }

  async hash(path: string): Promise<string> {
    while (!this.#idle.length) await new Promise<void>((resolve) => this.#queue.push(resolve));
    const worker = this.#idle.pop()!;
    const id = this.#next++;
    try {
      return await new Promise<string>((resolve, reject) => {
        worker.onmessage = (
          event: MessageEvent<{ id: number; sha256?: string; error?: string }>,
        ) => {
          if (event.data.id !== id) return;
          if (event.data.sha256) resolve(event.data.sha256);
          else reject(new Error(`sha256 of ${path}: ${event.data.error}`));
        };
        worker.onerror = (event) => reject(new Error(`sha256 of ${path}: ${event.message}`));
        worker.postMessage({ id, path });
      });
    } finally {
      this.#idle.push(worker);
      this.#queue.shift()?.();
    }
  }

  close(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}

/** Random bytes (JPEG-headed when `jpeg`), hashed while written. */
export async function makeInput(
  dir: string,
  name: string,
  size: number,
  jpeg = false,
): Promise<Input> {
  const path = `${dir}/${name}`;
  const hash = createHash("sha256");
  using file = await Deno.open(path, { write: true, createNew: true });
  const block = new Uint8Array(MiB);
  for (let written = 0; written < size; written += MiB) {
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
    const part = block.subarray(0, Math.min(MiB, size - written));
    if (jpeg && written === 0) {
      // SOI, a JFIF APP0 segment, then entropy; EOI at the end.
      part.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01]);
    }
    if (jpeg && written + part.length === size) part.set([0xff, 0xd9], part.length - 2);
    hash.update(part);
    let offset = 0;
    while (offset < part.length) offset += await file.write(part.subarray(offset));
  }
  return { path, name, size, sha256: hash.digest("hex") };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function command(stack: Stack, dataDir: string): { program: string; args: string[] } {
  switch (stack) {
    case "h5-uploader":
      return { program: Deno.execPath(), args: ["run", "-A", MAIN] };
    case "h5-uploader (before)":
      return { program: Deno.execPath(), args: ["run", "-A", `${COMPARE}/server/main.ts`] };
    case "limit":
    case "limit+fsync":
      return { program: Deno.execPath(), args: ["run", "-A", BARE, dataDir] };
    case "@tus/server":
      return { program: "node", args: [`${PEERS}/tus_server.mjs`, dataDir] };
    case "express+multer":
      return { program: "node", args: [`${PEERS}/multer_server.mjs`, dataDir] };
  }
}

async function startStack(stack: Stack, dataDir: string, running: Set<Running>) {
  const port = freePort();
  // The caller's H5_* settings must not change what is measured.
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([key]) => !key.startsWith("H5_")),
  );
  Object.assign(env, { PORT: String(port), HOST: "127.0.0.1", NO_COLOR: "1" });
  if (stack.startsWith("h5-uploader")) {
    Object.assign(env, {
      H5_DATA_DIR: dataDir,
      H5_SCENIC_ALLOWED_TYPES: "*/*",
      H5_SCENIC_MAX_FILES: "1000",
      // Every client of the bench shares one loopback address; real clients come from many.
      H5_MAX_CONNECTIONS_PER_IP: "100000",
      H5_MAX_SOCKETS_PER_IP: "100000",
      H5_SESSION_RATE: "100000",
      H5_SOCKET_RATE: "100000",
    });
  }
  delete env.BARE_SYNC;
  if (stack === "limit+fsync") env.BARE_SYNC = "1";
  const { program, args } = command(stack, dataDir);
  const child = new Deno.Command(program, {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const server: Running = { child, url: `http://127.0.0.1:${port}`, stack };
  running.add(server);
  await waitForListening(child.stdout, `${stack} server`);
  return server;
}

async function stopStack(server: Running, running: Set<Running>): Promise<void> {
  running.delete(server);
  try {
    server.child.kill("SIGTERM");
  } catch { /* already gone */ }
  const timer = setTimeout(() => {
    try {
      server.child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 5_000);
  await server.child.status;
  clearTimeout(timer);
}

/** utime and stime of a process, in seconds. */
async function cpuSeconds(pid: number): Promise<{ user: number; system: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const tck = await clkTck();
  return { user: Number(fields[11]) / tck, system: Number(fields[12]) / tck };
}

/**
 * Runs the client for one round. `atStart` runs once sessions and sockets are set up, right
 * before the uploads start, so the caller can read the server's CPU time there.
 */
export async function runClient(
  url: string,
  job: ClientJob,
  atStart: () => Promise<void>,
): Promise<ClientResult> {
  const payload = {
    mode: job.mode,
    base: url,
    files: job.files.map((f) => f.path),
    chunk: job.chunk ?? 0,
    sessions: job.sessions ?? 0,
    watch: job.watch ?? false,
    transport: job.transport ?? "curl",
  };
  const bytes = job.files.reduce((sum, f) => sum + f.size, 0);
  // Generous: 5 MB/s at worst, never under 2 minutes.
  const signal = AbortSignal.timeout(Math.max(120_000, bytes / 5e3));
  const child = new Deno.Command("node", {
    args: [CLIENT, JSON.stringify(payload)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal,
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let go = false;
  for (;;) {
    const { value, done } = await lines.read();
    if (done) break;
    out += value;
    if (!go && out.includes("ready\n")) {
      go = true;
      out = out.slice(out.indexOf("ready\n") + 6);
      await atStart();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    }
  }
  const status = await child.status;
  if (!status.success || !go) {
    throw new Error(
      `client failed (${status.signal ?? status.code}${signal.aborted ? ", timed out" : ""}): ${
        (await stderr).slice(-2000)
      }`,
    );
  }
  return JSON.parse(out.trim().split("\n").at(-1)!) as ClientResult;
}

/** Every regular file under `dir`, skipping the folders and files `skip` says. */
async function listFiles(dir: string, skip: (name: string) => boolean): Promise<string[]> {
  const files: string[] = [];
  if (!(await exists(dir))) return files;
  for await (const entry of Deno.readDir(dir)) {
    if (skip(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await listFiles(path, skip));
    else if (entry.isFile) files.push(path);
  }
  return files;
}

function storedFiles(stack: Stack, dataDir: string): Promise<string[]> {
  switch (stack) {
    case "h5-uploader":
    case "h5-uploader (before)":
      return listFiles(`${dataDir}/uploads`, (name) => name === ".parts");
    case "@tus/server":
      return listFiles(dataDir, (name) => name.endsWith(".json"));
    default:
      return listFiles(dataDir, () => false);
  }
}

/**
 * Every expected input is stored exactly once per upload, byte for byte; throws naming the
 * stack, the scenario and the file otherwise.
 */
export async function verify(
  hashes: HashPool,
  stack: Stack,
  scenario: string,
  dataDir: string,
  expected: Input[],
) {
  const left = new Map<string, Input[]>();
  for (const input of expected) {
    left.set(input.sha256, [...(left.get(input.sha256) ?? []), input]);
  }
  const sizes = new Set(expected.map((i) => i.size));
  const problems: string[] = [];
  const stored = await Promise.all(
    (await storedFiles(stack, dataDir)).map(async (path) => {
      const { size } = await Deno.stat(path);
      return { path, size, sha: sizes.has(size) ? await hashes.hash(path) : "" };
    }),
  );
  for (const { path, size, sha } of stored) {
    if (!sizes.has(size)) {
      problems.push(`${path}: ${size} bytes, no input has that size (lost or extra bytes)`);
      continue;
    }
    const pending = left.get(sha);
    if (!pending?.length) {
      problems.push(
        `${path}: sha256 ${sha} matches no ${
          expected.some((i) => i.sha256 === sha) ? "remaining (extra copy)" : "input (corrupt)"
        }`,
      );
      continue;
    }
    pending.pop();
  }
  for (const [, inputs] of left) {
    for (const input of inputs) problems.push(`${input.name}: not stored (sha256 ${input.sha256})`);
  }
  if (problems.length) {
    throw new Error(
      `upload bench: ${stack} · ${scenario}: ${problems.length} stored file(s) wrong:\n  ${
        problems.slice(0, 10).join("\n  ")
      }`,
    );
  }
}

interface ScenarioSpec {
  key: string;
  label: string;
  stack: Stack;
  /** The stack's name in the figures (the stack unless a variant, e.g. another client). */
  name?: string;
  where?: Where;
  job: ClientJob;
}

const EXPECTED_STATUS: Record<ClientJob["mode"], number> = { tus: 204, put: 204, multipart: 204 };

export const run: BenchPart = async (context: BenchContext): Promise<BenchPartResult> => {
  const started = performance.now();
  // The machine may be shared: the load before and after goes into the figures.
  const loadAtStart = Deno.loadavg();
  const plan = context.quick ? PLANS.quick : PLANS.full;
  const progress = (message: string) => context.progress(`upload: ${message}`);
  await Deno.mkdir(context.tmpDir, { recursive: true });
  const scratch = await Deno.makeTempDir({ dir: context.tmpDir, prefix: "upload-" });
  const running = new Set<Running>();
  const hashes = new HashPool(Math.max(1, Math.min(2, navigator.hardwareConcurrency)));
  let closeTmpfs = async () => {};
  try {
    if (!(await exists(`${PEERS}/node_modules`))) {
      progress("installing the peers (npm ci --prefix bench/upload/peers)");
      const out = await new Deno.Command("npm", {
        args: ["ci", "--prefix", PEERS, "--no-audit", "--no-fund"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new Error(`npm ci in ${PEERS} failed: ${new TextDecoder().decode(out.stderr)}`);
      }
    }

    progress(`writing inputs (random bytes) in ${scratch}`);
    const inputsDir = `${scratch}/inputs`;
    await Deno.mkdir(inputsDir);
    const single = await makeInput(inputsDir, "single.bin", plan.single);
    const concurrentFile = await makeInput(inputsDir, "concurrent.bin", plan.concurrentSize);
    const growthFile = plan.growthSize === plan.concurrentSize
      ? concurrentFile
      : await makeInput(inputsDir, "growth.bin", plan.growthSize);
    const photos: Input[] = [];
    for (const [i, m] of [2.1, 2.7, 3.4, 4.2, 4.9].entries()) {
      photos.push(
        await makeInput(inputsDir, `photo-${i}.jpg`, Math.round(m * MiB) + 517 * i, true),
      );
    }
    const sessionFiles = Array.from(
      { length: plan.sessions },
      (_, i) => photos[i % photos.length]!,
    );

    const results = new Map<string, Map<string, StackFigures>>();
    const labels = new Map<string, string>();
    const record = (key: string, name: string, figures: StackFigures) => {
      if (!results.has(key)) results.set(key, new Map());
      results.get(key)!.set(name, figures);
    };
    // Room for one round of the single upload at a time (files are removed after each round).
    const tmpfs = await openTmpfs(scratch, 2 * plan.single + 256 * MiB);
    if (tmpfs.dir === null) progress(`no tmpfs, the tmpfs runs are skipped: ${tmpfs.why}`);
    else {
      closeTmpfs = tmpfs.close;
      progress(`tmpfs: ${tmpfs.how} at ${tmpfs.dir}`);
    }
    const rootOf = (where: Where = "disk") => where === "tmpfs" ? tmpfs.dir! : scratch;

    /**
     * One group of scenarios: a fresh server per entry, all started first, then the rounds
     * interleaved (entry order rotated each round) so a load burst from elsewhere on the
     * machine hits every stack alike; every stored file is checked by sha256 after its round.
     * Then per entry: peak RSS (VmHWM of the whole scenario) and stop.
     */
    const measure = async (entries: ScenarioSpec[], rounds: number) => {
      const states: {
        spec: ScenarioSpec;
        dataDir: string;
        server: Running;
        mbps: number[];
        bytes: number;
        cpu: { user: number; system: number; setup: number };
        watchers: StackFigures["watchers"];
      }[] = [];
      for (const spec of entries) {
        const dataDir = `${rootOf(spec.where)}/${spec.key}-${
          (spec.name ?? spec.stack).replace(/[^a-z0-9]+/gi, "-")
        }`;
        await Deno.mkdir(dataDir, { recursive: true });
        const server = await startStack(spec.stack, dataDir, running);
        states.push({
          spec,
          dataDir,
          server,
          mbps: [],
          bytes: 0,
          cpu: { user: 0, system: 0, setup: 0 },
          watchers: undefined,
        });
      }
      for (let r = 0; r < rounds; r++) {
        const order = states.map((_, i) => states[(i + r) % states.length]!);
        for (const state of order) {
          const { spec, server } = state;
          const pid = server.child.pid;
          await sync();
          const cpuAtSetup = await cpuSeconds(pid);
          let cpuBefore = cpuAtSetup;
          const result = await runClient(server.url, spec.job, async () => {
            cpuBefore = await cpuSeconds(pid);
          });
          const cpuAfter = await cpuSeconds(pid);
          state.cpu.user += cpuAfter.user - cpuBefore.user;
          state.cpu.system += cpuAfter.system - cpuBefore.system;
          state.cpu.setup += cpuBefore.user + cpuBefore.system - cpuAtSetup.user -
            cpuAtSetup.system;
          const bad = result.statuses.filter((s) => s !== EXPECTED_STATUS[spec.job.mode]);
          if (bad.length) {
            throw new Error(
              `upload bench: ${spec.stack} · ${spec.label}: ${bad.length} of ${result.statuses.length} uploads failed (${
                bad.slice(0, 5).join(", ")
              }): ${result.details.join(" | ")}`,
            );
          }
          if (spec.job.watch) {
            const { heard, expected, lastMs } = result.completed;
            if (heard !== expected || expected !== spec.job.files.length) {
              throw new Error(
                `upload bench: ${spec.stack} · ${spec.label}: watchers heard upload-completed for ${heard} of ${spec.job.files.length} files`,
              );
            }
            const w = state.watchers;
            state.watchers = {
              heard: (w?.heard ?? 0) + heard,
              expected: (w?.expected ?? 0) + expected,
              lastEventMs: Math.max(w?.lastEventMs ?? 0, Math.round(lastMs)),
              setupMs: Math.max(w?.setupMs ?? 0, Math.round(result.setupMs)),
              setupCpuSeconds: 0,
            };
          }
          state.bytes += result.bytes;
          state.mbps.push(result.bytes / 1e6 / (result.ms / 1000));
          // Checked and removed after each round: disk use stays at one round's files.
          const label = rounds > 1 ? `${spec.label}, round ${r + 1}` : spec.label;
          await verify(hashes, spec.stack, label, state.dataDir, spec.job.files);
          for (const path of await storedFiles(spec.stack, state.dataDir)) await Deno.remove(path);
          progress(
            `${spec.label} · ${spec.name ?? spec.stack} · round ${r + 1}/${rounds}: ${
              fixed(state.mbps.at(-1)!)
            } MB/s, ${spec.job.files.length} file(s) verified by sha256`,
          );
        }
      }
      const out = new Map<string, StackFigures>();
      for (const { spec, dataDir, server, mbps, bytes, cpu, watchers } of states) {
        const peak = await peakRssMiB(server.child.pid);
        await stopStack(server, running);
        await Deno.remove(dataDir, { recursive: true });
        const figures: StackFigures = {
          mbps: spread(mbps),
          perRound: mbps.map(round1),
          ratioToLimit: null,
          peakRssMiB: peak,
          cpuSecondsPerGiB: perGiB(cpu.user + cpu.system, bytes),
          cpuSplitPerGiB: { user: perGiB(cpu.user, bytes), system: perGiB(cpu.system, bytes) },
          rounds,
        };
        if (watchers) {
          figures.watchers = { ...watchers, setupCpuSeconds: Math.round(cpu.setup * 100) / 100 };
        }
        progress(
          `${spec.label} · ${spec.name ?? spec.stack}: median ${
            fixed(figures.mbps.median)
          } MB/s, peak RSS ${peak} MiB, ${figures.cpuSecondsPerGiB.toFixed(2)} CPU s/GiB`,
        );
        labels.set(spec.key, spec.label);
        record(spec.key, spec.name ?? spec.stack, figures);
        out.set(spec.name ?? spec.stack, figures);
      }
      return out;
    };

    const refs: Stack[] = plan.fsyncReference ? ["limit", "limit+fsync"] : ["limit"];
    const modeOf = (stack: Stack): ClientJob["mode"] =>
      stack === "express+multer" ? "multipart" : stack.startsWith("limit") ? "put" : "tus";
    const h5Job = (files: Input[], extra: Partial<ClientJob> = {}): ClientJob => ({
      mode: "tus",
      files,
      sessions: 1,
      watch: true,
      ...extra,
    });
    const jobFor = (stack: Stack, files: Input[], extra: Partial<ClientJob> = {}): ClientJob =>
      stack.startsWith("h5-uploader")
        ? h5Job(files, extra)
        : { mode: modeOf(stack), files, ...extra };

    // 0. The disk alone: how close the storage's durable write path comes to the disk's own
    // write-then-fdatasync speed, without the network and the CPU it takes.
    const disk = await measureDiskSync(scratch, plan.diskAlone, plan.rounds, COMPARE, progress);
    const diskAlone = {
      label: `disk alone (no network): ${sizeLabel(plan.diskAlone)} from memory`,
      sizeMiB: mib(plan.diskAlone),
      mbps: Object.fromEntries(Object.entries(disk.perRound).map(([n, xs]) => [n, spread(xs)])),
      perRound: Object.fromEntries(
        Object.entries(disk.perRound).map(([n, xs]) => [n, xs.map(round1)]),
      ),
      storageVsWriteThenSync: pairedRatios(disk.perRound.storage, disk.perRound["write+fdatasync"]),
      storageVsBefore: pairedRatios(disk.perRound.storage, disk.perRound["storage (before)"]),
    };

    // 1. One big upload in one request, and 2. the same in 8 MiB PATCHes (tus stacks); both
    // with the data on the disk, then on a tmpfs.
    const ours: Stack[] = COMPARE ? ["h5-uploader", "h5-uploader (before)"] : ["h5-uploader"];
    const singleLabel = `single ${sizeLabel(plan.single)}, one PATCH`;
    const chunkedLabel = `single ${sizeLabel(plan.single)}, ${sizeLabel(plan.chunk)} PATCHes`;
    const wheres: Where[] = tmpfs.dir === null ? ["disk"] : ["disk", "tmpfs"];
    const suffix = (where: Where) => where === "disk" ? "" : "-tmpfs";
    const onWhere = (where: Where) => where === "disk" ? "" : " (data on tmpfs)";
    for (const where of wheres) {
      await measure([
        // On a tmpfs an fdatasync costs nothing: no limit+fsync there.
        ...((where === "disk" ? [...refs, ...ours, "@tus/server", "express+multer"] : [
          "limit",
          ...ours,
          "@tus/server",
          "express+multer",
        ]) as Stack[]).map((stack) => ({
          key: `single${suffix(where)}`,
          label: singleLabel + onWhere(where),
          stack,
          where,
          job: jobFor(stack, [single]),
        })),
        // The bench's old client on the limit, to show what it could push.
        ...(where === "tmpfs"
          ? [{
            key: "single-tmpfs",
            label: singleLabel + onWhere(where),
            stack: "limit" as Stack,
            name: "limit (Node client)",
            where,
            job: { mode: "put" as const, files: [single], transport: "node" as const },
          }]
          : []),
        // The 8 MiB PATCHes on the disk only (the run stays near 3 minutes).
        ...(where === "tmpfs" ? [] : [...ours, "@tus/server"] as Stack[]).map((stack) => ({
          key: `chunked${suffix(where)}`,
          label: chunkedLabel + onWhere(where),
          stack,
          where,
          job: jobFor(stack, [single], { chunk: plan.chunk }),
        })),
      ], plan.rounds);
    }
    // 3. Concurrent uploads.
    const concurrentLabel = `${plan.concurrentUploads} concurrent ${
      sizeLabel(plan.concurrentSize)
    }`;
    const concurrentFiles = Array.from({ length: plan.concurrentUploads }, () => concurrentFile);
    await measure(
      ([...refs, "h5-uploader", "@tus/server", "express+multer"] as Stack[]).map((stack) => ({
        key: "concurrent",
        label: concurrentLabel,
        stack,
        job: jobFor(stack, concurrentFiles),
      })),
      plan.smallRounds,
    );
    // 4. Many sessions of photos, one watcher each (our server); the others without sockets.
    const sessionsLabel = `${plan.sessions} sessions of 2–5 MiB photos`;
    await measure(
      (["limit", "h5-uploader", "@tus/server"] as Stack[]).map((stack) => ({
        key: "sessions",
        label: sessionsLabel,
        stack,
        job: stack === "h5-uploader"
          ? h5Job(sessionFiles, { sessions: plan.sessions })
          : jobFor(stack, sessionFiles),
      })),
      plan.smallRounds,
    );
    // 5. Memory as work grows (our server, one round each, a fresh process each).
    const largeFile = await makeInput(inputsDir, "large.bin", plan.large);
    const large = (await measure([{
      key: "growth-large",
      label: `single ${sizeLabel(plan.large)}, one PATCH`,
      stack: "h5-uploader",
      job: h5Job([largeFile]),
    }], 1)).get("h5-uploader")!;
    await Deno.remove(largeFile.path);
    const byConcurrency: Record<string, number> = {};
    for (const n of plan.growthConcurrency) {
      const reuse = n === plan.concurrentUploads && growthFile === concurrentFile
        ? results.get("concurrent")?.get("h5-uploader")
        : undefined;
      const figures = reuse ?? (await measure([{
        key: `growth-${n}`,
        label: `${n} concurrent ${sizeLabel(plan.growthSize)}`,
        stack: "h5-uploader",
        job: h5Job(Array.from({ length: n }, () => growthFile)),
      }], 1)).get("h5-uploader")!;
      byConcurrency[String(n)] = figures.peakRssMiB;
    }

    // Ratios to the limit, within each scenario (the limit's sessions run is PUTs of photos).
    // The chunked runs have no limit of their own: the single upload's, at the same place.
    const limitOf = (key: string) =>
      results.get(key)?.get("limit")?.mbps.median ??
        results.get(key.endsWith("-tmpfs") ? "single-tmpfs" : "single")?.get("limit")?.mbps.median;
    for (const [key, byStack] of results) {
      const limit = key.startsWith("growth") ? undefined : limitOf(key);
      for (const figures of byStack.values()) {
        figures.ratioToLimit = ratio(figures.mbps.median, limit);
      }
    }
    const median = (key: string, stack: string) => results.get(key)?.get(stack)?.mbps.median;
    const stacksOf = (key: string) => Object.fromEntries(results.get(key) ?? new Map());
    const h5 = (key: string) => results.get(key)?.get("h5-uploader");
    const singleH5 = h5("single")!;
    const concurrentH5 = h5("concurrent")!;
    const sessionsH5 = h5("sessions")!;
    const largeVsSingle = ratio(large.peakRssMiB, singleH5.peakRssMiB);
    const runs = (key: string, stack: string) => results.get(key)?.get(stack)?.perRound;
    const paired = (key: string, a: string, b: string) => pairedRatios(runs(key, a), runs(key, b));
    const versus = (key: string, other: string) => paired(key, "h5-uploader", other);
    const singleFigures = (key: string) => ({
      label: labels.get(key),
      sizeMiB: mib(plan.single),
      /** Paired by round: min, median, max of (ours / other) over the rounds. */
      ratioToLimit: versus(key, "limit"),
      /** Against the limit plus one fdatasync per file (our server makes files durable). */
      ratioToLimitFsync: versus(key, "limit+fsync"),
      vsTusNode: versus(key, "@tus/server"),
      vsExpressMulter: versus(key, "express+multer"),
      ...(COMPARE ? { vsBefore: versus(key, "h5-uploader (before)") } : {}),
      /** The curl-driven limit over the Node-driven one: how far the old client held it. */
      clientGain: paired(key, "limit", "limit (Node client)"),
      stacks: stacksOf(key),
    });
    const chunkedFigures = (key: string) => ({
      label: labels.get(key),
      sizeMiB: mib(plan.single),
      chunkMiB: mib(plan.chunk),
      ratioToLimit: h5(key)?.ratioToLimit ?? null,
      vsTusNode: versus(key, "@tus/server"),
      ...(COMPARE ? { vsBefore: versus(key, "h5-uploader (before)") } : {}),
      stacks: stacksOf(key),
    });

    const upload = {
      mode: context.quick ? "quick" : "full",
      rounds: { single: plan.rounds, concurrentAndSessions: plan.smallRounds, growth: 1 },
      cpus: navigator.hardwareConcurrency,
      loadAverage: { start: loadAtStart, end: Deno.loadavg() },
      tmpfs: tmpfs.dir === null ? `skipped: ${tmpfs.why}` : tmpfs.how,
      diskAlone,
      single: singleFigures("single"),
      singleTmpfs: tmpfs.dir === null ? null : singleFigures("single-tmpfs"),
      chunked: chunkedFigures("chunked"),
      concurrent: {
        label: concurrentLabel,
        uploads: plan.concurrentUploads,
        sizeMiB: mib(plan.concurrentSize),
        ratioToLimit: concurrentH5.ratioToLimit,
        ratioToLimitFsync: ratio(
          median("concurrent", "h5-uploader"),
          median("concurrent", "limit+fsync"),
        ),
        vsTusNode: ratio(median("concurrent", "h5-uploader"), median("concurrent", "@tus/server")),
        vsExpressMulter: ratio(
          median("concurrent", "h5-uploader"),
          median("concurrent", "express+multer"),
        ),
        stacks: stacksOf("concurrent"),
      },
      sessions100: {
        label: sessionsLabel,
        sessions: plan.sessions,
        photoSizesMiB: photos.map((p) => round1(mib(p.size))),
        mbps: sessionsH5.mbps,
        ratioToLimit: sessionsH5.ratioToLimit,
        vsTusNode: ratio(median("sessions", "h5-uploader"), median("sessions", "@tus/server")),
        watchersHeardAll: sessionsH5.watchers?.heard === sessionsH5.watchers?.expected,
        watchers: sessionsH5.watchers,
        stacks: stacksOf("sessions"),
      },
      memory: {
        single: { sizeMiB: mib(plan.single), peakRssMiB: singleH5.peakRssMiB },
        large: { sizeMiB: mib(plan.large), peakRssMiB: large.peakRssMiB, mbps: large.mbps },
        largeVsSingle,
        concurrentSizeMiB: mib(plan.growthSize),
        byConcurrency,
      },
      peakRssMiB: Math.max(singleH5.peakRssMiB, concurrentH5.peakRssMiB),
      cpuSecondsPerGiB: {
        single: singleH5.cpuSecondsPerGiB,
        chunked: h5("chunked")!.cpuSecondsPerGiB,
        concurrent: concurrentH5.cpuSecondsPerGiB,
        sessions: sessionsH5.cpuSecondsPerGiB,
      },
      seconds: Math.round((performance.now() - started) / 100) / 10,
      notes: [
        "limit: bench/bare_server.ts, a bare Deno.serve piping the PUT body into a file; " +
        "limit+fsync adds one fdatasync per file (our server makes every file durable)",
        "curl carries the bytes for every stack (bench/upload/client.mjs spawns one curl per " +
        "upload): tus PATCH with -T (h5-uploader with a session token and a Socket.IO " +
        "watcher; @tus/server without Authorization), PUT -T for the limit, -F multipart for " +
        "Express + multer; Node only creates sessions and tus uploads. 'limit (Node client)' " +
        "is the limit driven by the bench's former Node client, which held every stack down",
        "disk alone: LocalDiskStorage.write of bytes from memory (no network, no server) " +
        "against write() then one fdatasync of the same bytes, the disk's own durable speed " +
        "(dd conv=fdatasync)",
        "the single upload runs with the data folders on the disk and on a tmpfs " +
        "(fdatasync free there); the other scenarios on the disk",
        "rounds interleaved across stacks; `sync` before each round; MB/s and CPU cover the " +
        "uploads only, not session creation or socket connection",
        "each session talks from its own loopback address 127.0.0.<2+i>, as separate devices " +
        "would, so the per-address limits on session creation (60/min) and socket " +
        "handshakes (30/s) apply per session; no limit is raised",
        "every stored file is checked by sha256 after its round; peak RSS is VmHWM of a " +
        "server process started for that scenario",
      ],
    };

    // Rows: every stack per scenario, then the targets.
    const rows: BenchRow[] = Object.entries(diskAlone.mbps).map(([name, m]) => ({
      group: `upload · ${diskAlone.label}`,
      name,
      value: `${fixed(m.median)} MB/s (${fixed(m.min)}–${fixed(m.max)})`,
    }));
    for (const [key, byStack] of results) {
      if (key.startsWith("growth")) continue;
      const label = labels.get(key) ?? key;
      for (const [stack, f] of byStack) {
        rows.push({
          group: `upload · ${label}`,
          name: stack,
          value: `${fixed(f.mbps.median)} MB/s${
            f.rounds > 1 ? ` (${fixed(f.mbps.min)}–${fixed(f.mbps.max)})` : ""
          }${
            f.ratioToLimit === null ? "" : `, ${f.ratioToLimit.toFixed(2)} of limit`
          }, peak RSS ${f.peakRssMiB} MiB, ${f.cpuSecondsPerGiB.toFixed(2)} CPU s/GiB (user ${
            f.cpuSplitPerGiB.user.toFixed(2)
          }, system ${f.cpuSplitPerGiB.system.toFixed(2)})`,
        });
      }
    }
    const target = (
      name: string,
      value: number | null,
      text: string,
      met: (v: number) => boolean,
      digits = 2,
    ): BenchRow => {
      const row: BenchRow = {
        group: "upload · targets",
        name,
        value: value === null ? "n/a" : value.toFixed(digits),
        target: text,
      };
      if (value !== null) row.met = met(value);
      return row;
    };
    /** A paired ratio as "median (min–max over rounds)", against a target when given. */
    const pairedRow = (
      name: string,
      r: Spread | null,
      goal?: { text: string; met: (v: number) => boolean },
    ): BenchRow => {
      const row: BenchRow = {
        group: "upload · targets",
        name,
        value: r === null
          ? "n/a"
          : `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)} by round)`,
      };
      if (goal) row.target = goal.text;
      if (goal && r !== null) row.met = goal.met(r.median);
      return row;
    };
    const singleTargets = (
      where: Where,
      f: ReturnType<typeof singleFigures> | null,
    ): BenchRow[] =>
      f === null ? [] : [
        pairedRow(`single (${where}): ratio to the limit`, f.ratioToLimit, {
          text: "≥ 0.90",
          met: (v) => v >= 0.9,
        }),
        pairedRow(`single (${where}): × @tus/server`, f.vsTusNode, {
          text: "≥ 1.5",
          met: (v) => v >= 1.5,
        }),
        pairedRow(`single (${where}): × Express+multer`, f.vsExpressMulter, {
          text: "≥ 1.5",
          met: (v) => v >= 1.5,
        }),
        ...(where === "disk"
          ? [pairedRow(`single (disk): × the limit + one fdatasync`, f.ratioToLimitFsync)]
          : []),
        ...(f.vsBefore === undefined
          ? []
          : [pairedRow(`single (${where}): × h5-uploader (before), ${COMPARE}`, f.vsBefore)]),
        ...(f.clientGain === null
          ? []
          : [pairedRow(`single (${where}): the limit driven by curl × by Node`, f.clientGain)]),
      ];
    rows.push(
      pairedRow("disk alone: storage × write+fdatasync", diskAlone.storageVsWriteThenSync),
      ...(COMPARE ? [pairedRow("disk alone: storage × before", diskAlone.storageVsBefore)] : []),
      ...singleTargets("disk", upload.single),
      ...singleTargets("tmpfs", upload.singleTmpfs),
      target(
        `${plan.concurrentUploads} concurrent: ratio to the limit`,
        upload.concurrent.ratioToLimit,
        "≥ 0.9",
        (v) => v >= 0.9,
      ),
      {
        group: "upload · targets",
        name: `${plan.concurrentUploads} concurrent: ratio to the limit + fdatasync (reference)`,
        value: upload.concurrent.ratioToLimitFsync?.toFixed(2) ?? "n/a",
      },
      ...Object.entries(upload.cpuSecondsPerGiB).map(([name, v]) =>
        target(`${name}: server CPU s per GiB`, v, "≤ 1", (x) => x <= 1)
      ),
      target(
        `single ${sizeLabel(plan.single)}: peak RSS MiB`,
        singleH5.peakRssMiB,
        "< 150",
        (v) => v < 150,
        0,
      ),
      target(
        `${plan.concurrentUploads} concurrent: peak RSS MiB`,
        concurrentH5.peakRssMiB,
        "< 150",
        (v) => v < 150,
        0,
      ),
      target(
        `${sizeLabel(plan.large)} vs ${sizeLabel(plan.single)}: peak RSS ratio`,
        largeVsSingle,
        "≤ 1.10",
        (v) => v <= 1.1,
      ),
      {
        group: "upload · targets",
        name: `${plan.sessions} sessions: watchers heard upload-completed`,
        value: `${sessionsH5.watchers?.heard ?? 0} of ${sessionsH5.watchers?.expected ?? 0}`,
        target: "all",
        met: upload.sessions100.watchersHeardAll,
      },
      {
        group: "upload · memory",
        name: `peak RSS by concurrent ${sizeLabel(plan.growthSize)} uploads`,
        value: Object.entries(byConcurrency).map(([n, v]) => `${n}: ${v} MiB`).join(", "),
      },
    );

    const chart = wheres.flatMap((where) =>
      (["limit", "h5-uploader", "@tus/server", "express+multer"] as Stack[]).flatMap((stack) => {
        const f = results.get(`single${suffix(where)}`)?.get(stack);
        return f
          ? [{ stack: `${stack} · ${where}`, mbPerSecond: f.mbps.median, peakRssMiB: f.peakRssMiB }]
          : [];
      })
    );
    progress(`done in ${upload.seconds} s`);
    return { figures: { upload }, rows, chart };
  } finally {
    hashes.close();
    for (const server of [...running]) await stopStack(server, running);
    await closeTmpfs();
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
};
