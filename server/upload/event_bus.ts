import type { RoomEvent } from "../../protocol/events.ts";
import type { RoomEventSource } from "./commands.ts";

/** Fan-out of domain events to subscribers (the realtime bridge, tests). */
export class EventBus implements RoomEventSource {
  #listeners = new Set<(event: RoomEvent) => void>();

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
}
