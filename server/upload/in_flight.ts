/** Why the service stopped a PATCH in flight. */
export type StopReason = "pause" | "cancel" | "superseded" | "type" | "expired" | "shutdown";

/**
 * The PATCHes writing on this node, by upload id, so a command can end one. Behind an
 * interface because on several nodes the holder of an upload may be another node: a stop
 * channel then calls `stopLocal` here for the requests published by the others.
 */
export interface InFlight {
  /** A PATCH starts writing: its controller aborts with the StopReason when someone stops it. */
  register(uploadId: string): AbortController;
  /** The PATCH ended (whatever the outcome). */
  unregister(uploadId: string, controller: AbortController): void;
  /** Ends the upload's PATCH wherever it runs (here: this node only). */
  stop(uploadId: string, reason: StopReason): void;
  /**
   * Ends the upload's PATCH if this node runs it: what a stop channel calls for a request it heard.
   */
  stopLocal(uploadId: string, reason: StopReason): boolean;
  /** Stops every PATCH of this node (what arrived is committed) for a clean shutdown. */
  stopAll(reason?: StopReason): void;
  /** PATCHes writing on this node. */
  readonly size: number;
}

/** The single-node registry: AbortControllers in a map. */
export class LocalInFlight implements InFlight {
  #active = new Map<string, AbortController>();

  register(uploadId: string): AbortController {
    const controller = new AbortController();
    this.#active.set(uploadId, controller);
    return controller;
  }

  unregister(uploadId: string, controller: AbortController): void {
    // A newer PATCH of the same upload may have registered since: leave its entry alone.
    if (this.#active.get(uploadId) === controller) this.#active.delete(uploadId);
  }

  stop(uploadId: string, reason: StopReason): void {
    this.stopLocal(uploadId, reason);
  }

  stopLocal(uploadId: string, reason: StopReason): boolean {
    const controller = this.#active.get(uploadId);
    controller?.abort(reason);
    return controller !== undefined;
  }

  stopAll(reason: StopReason = "shutdown"): void {
    for (const controller of this.#active.values()) controller.abort(reason);
  }

  get size(): number {
    return this.#active.size;
  }
}
