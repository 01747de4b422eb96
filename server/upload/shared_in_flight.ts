import type { StopChannel } from "../cluster/stop_channel.ts";
import { type InFlight, LocalInFlight, type StopReason } from "./in_flight.ts";

/** Own requests remembered at most: a channel that lost some must not make this grow. */
const MAX_OWN_PENDING = 4096;

const REASONS: ReadonlySet<string> = new Set<StopReason>([
  "pause",
  "cancel",
  "superseded",
  "type",
  "expired",
  "shutdown",
]);

/**
 * The in-flight registry of a node that shares its uploads: `stop` ends the local PATCH at
 * once and publishes the request, so the node that writes the upload (maybe another) ends
 * its PATCH too (issue #9: a pause on node B ends node A's PATCH). Every node hears its own
 * requests as well; those are ignored, because by then a new PATCH of the same upload may
 * have started here, and the echo of the old stop must not end it.
 */
export class SharedInFlight implements InFlight {
  readonly #local = new LocalInFlight();
  readonly #channel: StopChannel<StopReason>;
  readonly #own = new Map<string, number>();
  readonly #unlisten: () => void;

  constructor(channel: StopChannel<StopReason>) {
    this.#channel = channel;
    this.#unlisten = channel.listen((uploadId, reason) => {
      const key = `${uploadId}\n${reason}`;
      if (this.#own.has(key)) return this.#forget(key);
      if (REASONS.has(reason)) this.#local.stopLocal(uploadId, reason);
    });
  }

  register(uploadId: string): AbortController {
    return this.#local.register(uploadId);
  }

  unregister(uploadId: string, controller: AbortController): void {
    this.#local.unregister(uploadId, controller);
  }

  stop(uploadId: string, reason: StopReason): void {
    this.#local.stopLocal(uploadId, reason);
    const key = `${uploadId}\n${reason}`;
    if (this.#own.size >= MAX_OWN_PENDING) this.#own.clear();
    this.#own.set(key, (this.#own.get(key) ?? 0) + 1);
    // Best effort (pub/sub): the lock's release request and lease are the backstop.
    this.#channel.request(uploadId, reason).catch((error) => {
      this.#forget(key);
      console.error(`Cannot publish the stop of upload "${uploadId}":`, error);
    });
  }

  stopLocal(uploadId: string, reason: StopReason): boolean {
    return this.#local.stopLocal(uploadId, reason);
  }

  stopAll(reason: StopReason = "shutdown"): void {
    this.#local.stopAll(reason);
  }

  get size(): number {
    return this.#local.size;
  }

  /** Stops listening (the channel itself belongs to whoever opened it). */
  close(): void {
    this.#unlisten();
  }

  #forget(key: string): void {
    const pending = this.#own.get(key) ?? 0;
    if (pending <= 1) this.#own.delete(key);
    else this.#own.set(key, pending - 1);
  }
}
