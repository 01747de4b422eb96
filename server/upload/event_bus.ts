import type { RoomEvent } from "../../protocol/events.ts";
import type { RoomEventSource } from "./commands.ts";
import type { ProgressDelta, ProgressDeltaSource } from "./progress_delta.ts";

/** Fan-out of domain events to subscribers (the realtime bridge, tests). */
export class EventBus implements RoomEventSource, ProgressDeltaSource {
  #listeners = new Set<(event: RoomEvent) => void>();
  #progress = new Set<(delta: ProgressDelta) => void>();

  subscribe(listener: (event: RoomEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(event: RoomEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error(`Event listener failed on "${event.name}":`, error);
      }
    }
  }

  /** Per-file progress news (see progress_delta.ts), apart from the room events. */
  subscribeProgress(listener: (delta: ProgressDelta) => void): () => void {
    this.#progress.add(listener);
    return () => this.#progress.delete(listener);
  }

  publishProgress(delta: ProgressDelta): void {
    for (const listener of this.#progress) {
      try {
        listener(delta);
      } catch (error) {
        console.error(`Progress listener failed on "${delta.kind}":`, error);
      }
    }
  }
}
