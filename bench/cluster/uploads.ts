/**
 * Workload 1 of `deno task bench:cluster`: N concurrent tus uploads (creation, then one
 * streamed PATCH each) driven by the upload bench's client (bench/upload/client.mjs: Node
 * creates the session and the uploads, one `curl -Z` carries every PATCH body, so the client
 * outruns the server). Then every finished file is downloaded back through the same URL
 * (nginx for the cluster) and its size and sha256 compared with its input: a lost or
 * corrupted byte fails the run.
 */
import { createHash } from "node:crypto";
import { type Input, makeInput, runClient } from "../upload/mod.ts";
import { cpuSeconds, peakRssMiB, resetPeak } from "./procfs.ts";
import type { Setup } from "./setups.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** Downloads at once during the check (the check is not what is measured). */
const CHECK_PARALLEL = 4;

export interface UploadPlan {
  uploads: number;
  size: number;
}

export interface UploadFigures {
  uploads: number;
  sizeMiB: number;
  /** From the first PATCH to the last 204 (session and creation setup not counted). */
  seconds: number;
  mibPerSecond: number;
  /** Peak RSS of each node's server process during the uploads. */
  peakRssMiB: Record<string, number>;
  /** Peak RSS of redis-server, s3rver and nginx during the uploads. */
  servicesPeakRssMiB: Record<string, number>;
  /** False: the peaks could not be reset and cover everything since the process started. */
  peakIsThisWorkload: boolean;
  /** CPU seconds per GiB uploaded, per process (nodes and services). */
  cpuSecondsPerGiB: Record<string, number>;
  /** Files downloaded back whose size and sha256 equal their input's. */
  verified: number;
  checkMiBPerSecond: number;
}

/** `plan.uploads` different files of random bytes (a swapped file would show). */
export async function makeInputs(dir: string, plan: UploadPlan): Promise<Input[]> {
  await Deno.mkdir(dir, { recursive: true });
  const inputs: Input[] = [];
  for (let i = 0; i < plan.uploads; i++) {
    inputs.push(await makeInput(dir, `upload-${i}.bin`, plan.size));
  }
  return inputs;
}

/** Streams `url` through sha256; never holds the file. */
async function downloadSha256(url: string, token: string | null) {
  const res = await fetch(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  if (res.status !== 200) {
    return { error: `GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}` };
  }
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of res.body!) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

async function verifyAll(
  uploads: ({ url: string; token: string | null } | null)[],
  inputs: Input[],
): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      const input = inputs[i]!;
      const where = uploads[i];
      if (!where) {
        problems.push(`${input.name}: the client reports no finished upload`);
        continue;
      }
      const got = await downloadSha256(where.url, where.token);
      if ("error" in got) problems.push(`${input.name}: ${got.error}`);
      else if (got.size !== input.size || got.sha256 !== input.sha256) {
        problems.push(
          `${input.name}: downloaded ${got.size} bytes sha256 ${got.sha256}, sent ${input.size} bytes sha256 ${input.sha256}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: CHECK_PARALLEL }, worker));
  return problems;
}

export async function runUploads(
  setup: Setup,
  inputs: Input[],
  progress: (message: string) => void,
): Promise<UploadFigures> {
  const processes = [...setup.servers, ...setup.services];
  // Writeback of the inputs (and of the previous setup) would land in this run's syncs.
  await new Deno.Command("sync").output();
  const reset = processes.map((p) => resetPeak(p.pid)).every(Boolean);
  let cpuBefore: number[] = [];
  const result = await runClient(setup.url, {
    mode: "tus",
    files: inputs,
    sessions: 1,
    watch: false,
  }, () => {
    cpuBefore = processes.map((p) => cpuSeconds(p.pid));
    return Promise.resolve();
  });
  const cpu = processes.map((p, i) => cpuSeconds(p.pid) - cpuBefore[i]!);
  const peaks = processes.map((p) => peakRssMiB(p.pid));
  const bad = result.statuses.filter((s) => s !== 204);
  if (bad.length) {
    throw new Error(
      `${bad.length} of ${inputs.length} uploads failed (${bad.slice(0, 5).join(", ")}): ${
        result.details.join(" | ")
      }`,
    );
  }
  const mibPerSecond = result.bytes / MiB / (result.ms / 1000);
  progress(`${setup.name}: ${inputs.length} uploads at ${mibPerSecond.toFixed(1)} MiB/s`);

  const checkStarted = performance.now();
  const problems = await verifyAll(result.uploads ?? [], inputs);
  if (problems.length) {
    throw new Error(
      `${problems.length} file(s) lost or wrong:\n  ${problems.join("\n  ")}`,
    );
  }
  const checkSeconds = (performance.now() - checkStarted) / 1000;
  progress(`${setup.name}: ${inputs.length} files downloaded back, sha256 equal`);
  const per = <T>(list: { name: string }[], values: T[]) =>
    Object.fromEntries(list.map((p, i) => [p.name, values[i]!]));
  const servers = setup.servers.length;
  return {
    uploads: inputs.length,
    sizeMiB: inputs[0]!.size / MiB,
    seconds: Math.round(result.ms / 10) / 100,
    mibPerSecond: Math.round(mibPerSecond * 10) / 10,
    peakRssMiB: per(setup.servers, peaks.slice(0, servers)),
    servicesPeakRssMiB: per(setup.services, peaks.slice(servers)),
    peakIsThisWorkload: reset,
    cpuSecondsPerGiB: per(
      processes,
      cpu.map((s) => Math.round((s / (result.bytes / GiB)) * 100) / 100),
    ),
    verified: inputs.length,
    checkMiBPerSecond: Math.round((result.bytes / MiB / checkSeconds) * 10) / 10,
  };
}
