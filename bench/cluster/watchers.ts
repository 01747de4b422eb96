/**
 * Workload 2 of `deno task bench:cluster`: the real-time bench's paced phase (bench/realtime:
 * its sessions, socket.io-client watchers, PATCH driver and measurement) on one setup. Every
 * room's session uploads one file in paced PATCHes; each progress update carries the time the
 * service published the state right after its durable commit, so a watcher's receive time
 * minus it is commit -> watcher. For the cluster every request goes through nginx (round
 * robin): the PATCHes of one upload land on several nodes, and the watchers spread over the
 * nodes, so most updates cross Redis (the Socket.IO adapter) before reaching their watcher.
 */
import type { Socket } from "socket.io-client";
import type { BenchContext } from "../lib/part.ts";
import {
  type Child,
  closeAll,
  connect,
  createSessions,
  measure,
  planFor,
  randomBytes,
  uploadFile,
} from "../realtime/mod.ts";
import { establishedOn, peakRssMiB, resetPeak } from "./procfs.ts";
import type { Setup } from "./setups.ts";

export interface WatcherFigures {
  watchers: number;
  rooms: number;
  /** Progress updates heard (the latency samples). */
  samples: number;
  progressP50Ms: number;
  progressP99Ms: number;
  maxMs: number;
  /** Watchers that never heard their session's upload-completed. */
  missingCompletions: number;
  fanoutMessagesPerSecond: number;
  connectSeconds: number;
  /** Connections each node accepted once the watchers were in (watchers + a few of nginx's). */
  connectionsPerNode: Record<string, number>;
  /** Peak RSS of each node's server process from the sessions to the end of the phase. */
  peakRssMiB: Record<string, number>;
  servicesPeakRssMiB: Record<string, number>;
  /** How long a PATCH took to be answered (through nginx for the cluster). */
  answerP50Ms: number;
  answerP99Ms: number;
  /** CPU of the first node during the phase, percent of one core. */
  firstNodeCpuPercent: number;
  /** The client's own event-loop lag: a busy client delays what it measures. */
  clientLoopLagP99Ms: number;
  loadAverage: number;
}

export async function runWatchers(
  setup: Setup,
  context: BenchContext,
): Promise<WatcherFigures> {
  const plan = planFor(context.quick);
  const processes = [...setup.servers, ...setup.services];
  for (const p of processes) resetPeak(p.pid);
  // The realtime bench's measurement watches one process: the first node here (its CPU and
  // main-thread figures); peak RSS is read per node below.
  const child: Child = {
    url: setup.url,
    pid: setup.servers[0]!.pid,
    peakRssMiB: () => Math.max(...setup.servers.map((s) => peakRssMiB(s.pid))),
    stop: () => Promise.resolve(),
  };
  const sockets: Socket[] = [];
  try {
    const rooms = await createSessions(setup.url, plan.rooms);
    const connected = await connect(context, plan, setup.name, child, rooms, sockets);
    const connectionsPerNode = Object.fromEntries(
      setup.servers.map((s) => [s.name, establishedOn(s.port)]),
    );
    const chunk = randomBytes(plan.chunkBytes);
    const phase = await measure(context, plan, child, rooms, connected.sink, {
      name: `${setup.name}, paced PATCHes`,
      drive: (room, startAt, recorder) =>
        uploadFile(setup.url, room, plan, chunk, startAt, recorder),
      completions: (recorder) => recorder.completedAt,
    });
    const per = (list: { name: string; pid: number }[]) =>
      Object.fromEntries(list.map((p) => [p.name, peakRssMiB(p.pid)]));
    return {
      watchers: sockets.length,
      rooms: rooms.length,
      samples: phase.samples,
      progressP50Ms: phase.progressP50Ms,
      progressP99Ms: phase.progressP99Ms,
      maxMs: phase.maxMs,
      missingCompletions: phase.missingCompletions,
      fanoutMessagesPerSecond: phase.fanoutMessagesPerSecond,
      connectSeconds: connected.connectSeconds,
      connectionsPerNode,
      peakRssMiB: per(setup.servers),
      servicesPeakRssMiB: per(setup.services),
      answerP50Ms: phase.answerP50Ms,
      answerP99Ms: phase.answerP99Ms,
      firstNodeCpuPercent: phase.server.cpuPercent,
      clientLoopLagP99Ms: phase.client.loopLagP99Ms,
      loadAverage: phase.loadAverage,
    };
  } finally {
    closeAll(sockets);
  }
}
