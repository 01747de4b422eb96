import type { ProgressUpdateEvent } from "../../protocol/events.ts";
import type { FileState, ProgressDelta, SessionState } from "../upload/progress_delta.ts";
import { buildProgress, percent } from "../upload/snapshot.ts";
import type { ProgressThrottle } from "./throttle.ts";
import { GatedProgress } from "./gated_progress.ts";
import type { ThrottleGate } from "./throttle_gate.ts";

/** What the store says of a session when its room is first needed on this node. */
export interface ProgressSeed {
  session: SessionState;
  files: FileState[];
}
/** Reads a session and its files once (null: no such session). */
export type SeedProgress = (sessionId: string) => Promise<ProgressSeed | null>;

export interface ProgressRoomsOptions {
  throttle: ProgressThrottle;
  emit: (payload: ProgressUpdateEvent) => void;
  now: () => number;
  /** Absent (in-process tests of the bridge): a room starts empty, with an active session. */
  seed?: SeedProgress;
  /** Rooms without news for this long are dropped (and seeded again when next needed). */
  idleMs?: number;
  /**
   * The throttle shared by every node (cluster): progress asks it instead of `throttle`,
   * which still decides the room events the bridge sends itself.
   */
  gate?: ThrottleGate;
}

interface Room {
  /** null: the store has no such session; nothing is sent for it. */
  session: SessionState | null;
  files: Map<string, FileState>;
  speeds: Map<string, number>;
  /** When each file's latest state was committed: the `timestamp` of what is sent of it. */
  at: Map<string, number>;
  touched: number;
  /** Work that arrived while the room was being seeded, run in order once it is. */
  pending: (() => void)[] | null;
}

/** Seeding again after this long: a backstop for a delta lost on its way from another node. */
const IDLE_MS = 30_000;

/**
 * Per-session progress state on this node, fed by the service's deltas: the throttle (spec,
 * 节流策略) decides first, and the spec's payload is built from the room's newest state only
 * when something is sent, so a trailing update carries what is known when it leaves, not what
 * was known when it was held back. The store is read once per room (the seed), never per
 * checkpoint.
 */
export class ProgressRooms {
  readonly #options: ProgressRoomsOptions;
  readonly #idleMs: number;
  readonly #rooms = new Map<string, Room>();
  readonly #trailing = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #gated: GatedProgress | null;
  #lastSweep: number;

  constructor(options: ProgressRoomsOptions) {
    this.#options = options;
    this.#idleMs = options.idleMs ?? IDLE_MS;
    this.#lastSweep = options.now();
    this.#gated = options.gate
      ? new GatedProgress({
        gate: options.gate,
        viewOf: (sessionId, fileId) => {
          const room = this.#rooms.get(sessionId);
          const file = room?.files.get(fileId);
          return file ? { ...viewOf(file), at: room!.at.get(fileId) ?? 0 } : null;
        },
        send: (sessionId, fileId) => {
          const room = this.#rooms.get(sessionId);
          // Behind a store read in progress, like every room event.
          if (room) this.#run(room, () => this.#send(sessionId, room, fileId));
        },
      })
      : null;
  }

  /** Runs `task` now, or after the session's room is seeded: room events keep their order. */
  inOrder(sessionId: string, task: () => void): void {
    const pending = this.#rooms.get(sessionId)?.pending;
    if (pending) pending.push(task);
    else task();
  }

  /**
   * `send: false` for a delta another node published and sends itself (rooms spanning nodes):
   * it keeps this node's room exact and sends nothing; with no room here it is not needed.
   */
  apply(delta: ProgressDelta, options: { send?: boolean } = {}): void {
    let room = this.#rooms.get(delta.sessionId);
    if (options.send === false) {
      if (room && delta.kind !== "summary") {
        const target = room;
        this.#run(target, () => this.#learn(target, delta));
      }
      return;
    }
    if (delta.kind === "session") {
      // No room: nothing to keep current; a seed reads the session when one is needed.
      if (room) {
        const target = room;
        this.#run(target, () => this.#learn(target, delta));
      }
      return;
    }
    room ??= this.#open(delta.sessionId);
    const target = room;
    this.#run(target, () => {
      if (delta.kind === "file") this.#onFile(delta.sessionId, target, delta);
      else this.#onSummary(delta.sessionId, target, delta.at);
    });
  }

  /** A room event about this file went out: a held-back update would now come after it. */
  cancelTrailing(sessionId: string, fileId: string): void {
    const key = `${sessionId}/${fileId}`;
    const timer = this.#trailing.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.#trailing.delete(key);
    this.#gated?.cancel(sessionId, fileId);
  }

  close(): void {
    this.#gated?.close();
    for (const timer of this.#trailing.values()) clearTimeout(timer);
    this.#trailing.clear();
    this.#rooms.clear();
  }

  /** Rooms and held-back updates, for tests and metrics. */
  get sizes(): { rooms: number; trailing: number } {
    return {
      rooms: this.#rooms.size,
      trailing: this.#trailing.size + (this.#gated?.trailing ?? 0),
    };
  }

  #run(room: Room, task: () => void): void {
    if (room.pending) room.pending.push(task);
    else task();
  }

  #open(sessionId: string): Room {
    this.#sweep();
    const seed = this.#options.seed;
    const room: Room = {
      session: seed ? null : { id: sessionId, status: "active", announcedFileIds: [] },
      files: new Map(),
      speeds: new Map(),
      at: new Map(),
      touched: this.#options.now(),
      pending: seed ? [] : null,
    };
    this.#rooms.set(sessionId, room);
    if (seed) this.#read(sessionId, room, seed);
    return room;
  }

  /**
   * Reads the session and its files into `room`; what arrives meanwhile waits (after `first`),
   * then runs in order. A room the store could not tell about is dropped once that ran, so the
   * next delta asks again.
   */
  #read(sessionId: string, room: Room, seed: SeedProgress, first?: () => void): void {
    room.pending ??= [];
    seed(sessionId).then((found) => {
      if (!found) return;
      room.session = found.session;
      // Deltas queued meanwhile are newer than what was read or equal to it: they run after.
      room.files = new Map(found.files.map((file) => [file.id, file]));
    }, (error) => {
      console.error(`Reading session "${sessionId}" for its progress failed:`, error);
    }).finally(() => {
      const tasks = [...(first ? [first] : []), ...(room.pending ?? [])];
      room.pending = null;
      for (let i = 0; i < tasks.length; i++) {
        // A task that started another read (a summary): the rest waits behind it, in order.
        const again = room.pending as (() => void)[] | null; // set by tasks[i - 1]
        if (again) {
          again.push(...tasks.slice(i));
          break;
        }
        try {
          tasks[i]!();
        } catch (error) {
          console.error(`Progress of session "${sessionId}" failed:`, error);
        }
      }
      if (!room.session && this.#rooms.get(sessionId) === room) this.#drop(sessionId);
    });
  }

  #onFile(
    sessionId: string,
    room: Room,
    delta: Extract<ProgressDelta, { kind: "file" }>,
  ): void {
    const { file } = delta;
    const before = room.files.get(file.id);
    this.#learn(room, delta);
    if (file.concat === "partial") return; // a part of a file, not a file watchers see
    if (this.#gated) {
      const view = { ...viewOf(file), at: room.at.get(file.id) ?? delta.at };
      return this.#gated.onFile(sessionId, view, before && viewOf(before));
    }
    const throttle = this.#options.throttle;
    const view = { id: file.id, progress: percent(file.offset, file.size), status: file.status };
    if (throttle.shouldSend(sessionId, view)) {
      this.cancelTrailing(sessionId, file.id);
      this.#send(sessionId, room, file.id);
      return;
    }
    const key = `${sessionId}/${file.id}`;
    if (this.#trailing.has(key)) return; // already due; it will send the newest state
    const wait = throttle.waitFor(sessionId, view);
    if (wait === null) return;
    this.#trailing.set(
      key,
      setTimeout(() => {
        this.#trailing.delete(key);
        if (this.#rooms.get(sessionId) !== room) return;
        const now = room.files.get(file.id);
        if (!now) return;
        const latest = { id: now.id, progress: percent(now.offset, now.size), status: now.status };
        if (throttle.shouldSend(sessionId, latest)) this.#send(sessionId, room, file.id);
      }, wait),
    );
  }

  #learn(room: Room, delta: Exclude<ProgressDelta, { kind: "summary" }>): void {
    room.touched = this.#options.now();
    if (delta.kind === "session") {
      room.session = { ...delta.session };
      return;
    }
    const { file } = delta;
    room.files.set(file.id, file);
    if (delta.speed === undefined) room.speeds.delete(file.id);
    else room.speeds.set(file.id, delta.speed);
    room.at.set(file.id, Math.max(room.at.get(file.id) ?? 0, delta.at));
  }

  #onSummary(sessionId: string, room: Room, at: number): void {
    room.touched = this.#options.now();
    // The session ended or changed as a whole (cancel, expiry, completion): files the service
    // publishes no delta for (a concatenated final, another node's) count as the store says.
    const seed = this.#options.seed;
    if (seed && !room.pending) {
      return this.#read(sessionId, room, seed, () => this.#summarize(sessionId, room, at));
    }
    this.#summarize(sessionId, room, at);
  }

  #summarize(sessionId: string, room: Room, at: number): void {
    this.#send(sessionId, room, undefined, at);
    // An ended session hears no more progress unless something changes it again, which
    // seeds a new room from the store.
    if (room.session && room.session.status !== "active") this.#drop(sessionId);
  }

  #send(sessionId: string, room: Room, current: string | undefined, at?: number): void {
    if (!room.session) return;
    const options: Parameters<typeof buildProgress>[2] = {
      now: at ?? (current === undefined ? this.#options.now() : room.at.get(current)!),
      speedOf: (id) => room.speeds.get(id),
    };
    if (current !== undefined) options.current = current;
    const files = [...room.files.values()];
    this.#options.emit(buildProgress({ ...room.session, id: sessionId }, files, options));
  }

  #drop(sessionId: string): void {
    const room = this.#rooms.get(sessionId);
    if (!room || room.pending) return;
    for (const id of room.files.keys()) this.cancelTrailing(sessionId, id);
    this.#rooms.delete(sessionId);
  }

  #sweep(): void {
    const now = this.#options.now();
    if (now - this.#lastSweep < this.#idleMs) return;
    this.#lastSweep = now;
    for (const [sessionId, room] of this.#rooms) {
      if (now - room.touched > this.#idleMs) this.#drop(sessionId);
    }
  }
}

function viewOf(file: FileState): { id: string; progress: number; status: FileState["status"] } {
  return { id: file.id, progress: percent(file.offset, file.size), status: file.status };
}
