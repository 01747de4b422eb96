import { LockLostError } from "./locker.ts";

/** Renewals per lease: two may fail to arrive in time before the lease runs out. */
const RENEWALS_PER_LEASE = 3;

/**
 * The holder's side of a lease: renews every third of it and aborts `lost` when a renewal
 * fails, finds the key taken, or the lease runs out without a successful one (a renewal
 * stuck in a reconnecting client must not let the holder write past its lease). The
 * deadline counts from when the last successful renewal was sent, which is no later than
 * the backend's own expiry, so the holder gives up first.
 */
export class Lease {
  readonly #controller = new AbortController();
  readonly #key: string;
  readonly #leaseMs: number;
  readonly #renew: () => Promise<boolean>;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** `renew` resolves true while the key is still ours, false when someone else has it. */
  constructor(key: string, leaseMs: number, renew: () => Promise<boolean>) {
    this.#key = key;
    this.#leaseMs = leaseMs;
    this.#renew = renew;
  }

  get lost(): AbortSignal {
    return this.#controller.signal;
  }

  /** Starts renewing a lease granted by a request sent at `sentAt` (performance.now()). */
  start(sentAt: number): void {
    this.#arm(sentAt);
  }

  /** Stops renewing (released); `lost` stays as it is. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#watchdog);
  }

  lose(why: string, cause?: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.stop();
    this.#controller.abort(new LockLostError(this.#key, why, { cause }));
  }

  #arm(sentAt: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#watchdog);
    const left = sentAt + this.#leaseMs - performance.now();
    this.#watchdog = setTimeout(
      () => this.lose(`no renewal succeeded within the ${this.#leaseMs} ms lease`),
      Math.max(0, left),
    );
    this.#renewTimer = setTimeout(() => this.#tick(), this.#leaseMs / RENEWALS_PER_LEASE);
  }

  #tick(): void {
    const sentAt = performance.now();
    this.#renew().then(
      (held) => {
        if (this.#stopped) return;
        if (held) this.#arm(sentAt);
        else this.lose("another holder has it (the lease ran out)");
      },
      (error) => {
        if (!this.#stopped) this.lose("a renewal failed", error);
      },
    );
  }
}
