import type { RoomEvent } from "../../protocol/events.ts";
import type { RoomEventSource } from "../upload/commands.ts";
import { type RealtimeServer, roomOf } from "./handlers.ts";
import { ProgressThrottle } from "./throttle.ts";
import type { ThrottleGate } from "./throttle_gate.ts";
import { ProgressRooms, type SeedProgress } from "./progress_rooms.ts";
import type { ProgressDelta, ProgressDeltaSource } from "../upload/progress_delta.ts";

export interface BridgeOptions {
  now: () => number;
  /** Reads a session's files once when its progress room is first needed (the store). */
  seed?: SeedProgress;
  /** Other nodes' progress deltas: they keep this node's rooms exact, and are not sent here. */
  peerProgress?: PeerProgress;
  /** The progress throttle every node shares (cluster); absent: this node's own. */
  throttleGate?: ThrottleGate;
}

/** Subscribes to the deltas other nodes published (cluster/progress_channel.ts). */
export type PeerProgress = (listener: (delta: ProgressDelta) => void) => () => void;

/**
 * Sends every domain event to its session room, throttling per-file progress (spec,
 * 节流策略). Everything else is sent as it comes, in order and never volatile: a lost
 * completion or failure would leave a watcher stuck. Returns the unsubscribe function.
 */
export function bridgeRoomEvents(
  io: RealtimeServer,
  events: RoomEventSource & Partial<ProgressDeltaSource>,
  options: BridgeOptions,
): () => void {
  const throttle = new ProgressThrottle({ now: options.now });
  // One trailing progress update per file: without it, the last bytes of a PATCH that ends
  // or stalls within 500 ms of the previous update would go unheard until the next event.
  const trailing = new Map<string, { timer: ReturnType<typeof setTimeout>; event: RoomEvent }>();

  const send = (event: RoomEvent) => {
    const room = io.to(roomOf(event.payload.sessionId));
    // RoomEvent pairs each name with its payload; the emit overloads cannot follow that
    // pairing through a union, so the pair is passed as the union it is.
    (room.emit as EmitRoomEvent).call(room, event.name, event.payload);
  };
  // Progress from the service's deltas: throttled first, built only when sent.
  const rooms = new ProgressRooms({
    throttle,
    now: options.now,
    emit: (payload) => send({ name: "upload-progress", payload }),
    ...(options.seed ? { seed: options.seed } : {}),
    ...(options.throttleGate ? { gate: options.throttleGate } : {}),
  });
  const cancelTrailing = (key: string) => {
    const pending = trailing.get(key);
    if (pending) clearTimeout(pending.timer);
    trailing.delete(key);
  };

  const onEvent = (event: RoomEvent) => {
    const file = event.name === "upload-progress" ? event.payload.currentFile : undefined;
    const key = file ? `${event.payload.sessionId}/${file.id}` : null;
    if (key) cancelTrailing(key);
    else if ("fileId" in event.payload && event.payload.fileId) {
      cancelTrailing(`${event.payload.sessionId}/${event.payload.fileId}`);
      rooms.cancelTrailing(event.payload.sessionId, event.payload.fileId);
    }
    if (admit(throttle, event)) return send(event);
    if (!file || !key) return;
    const wait = throttle.waitFor(event.payload.sessionId, file);
    if (wait === null) return;
    const timer = setTimeout(() => {
      trailing.delete(key);
      if (admit(throttle, event)) send(event);
    }, wait);
    trailing.set(key, { timer, event });
  };
  // While a session's room reads the store, its room events wait behind the deltas before them.
  const unsubscribe = events.subscribe((event) =>
    rooms.inOrder(event.payload.sessionId, () => onEvent(event))
  );
  const unsubscribeProgress = events.subscribeProgress?.((delta) => rooms.apply(delta));
  const unsubscribePeers = options.peerProgress?.((delta) => rooms.apply(delta, { send: false }));
  return () => {
    unsubscribe();
    unsubscribeProgress?.();
    unsubscribePeers?.();
    rooms.close();
    for (const key of [...trailing.keys()]) cancelTrailing(key);
  };
}

type EmitRoomEvent = (name: RoomEvent["name"], payload: RoomEvent["payload"]) => boolean;

function admit(throttle: ProgressThrottle, event: RoomEvent): boolean {
  const { sessionId } = event.payload;
  switch (event.name) {
    case "upload-progress": {
      const file = event.payload.currentFile;
      return file === undefined || throttle.shouldSend(sessionId, file);
    }
    // Final events free the throttle state even when no final progress event follows.
    case "upload-completed":
    case "upload-failed":
      throttle.forgetFile(sessionId, event.payload.fileId);
      return true;
    case "upload-cancelled":
      if (event.payload.fileId === undefined) throttle.forgetSession(sessionId);
      else throttle.forgetFile(sessionId, event.payload.fileId);
      return true;
    case "session-completed":
      throttle.forgetSession(sessionId);
      return true;
    default:
      return true;
  }
}
