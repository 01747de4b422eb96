/** Upload speed as a time-aware EWMA of bytes per second, and the ETA it gives. */

/** Samples closer together than this are merged into the next one (XHR fires often). */
const MIN_WINDOW_MS = 200;
/** How fast the average follows a change: a step reaches 63 % after TAU_MS. */
const TAU_MS = 2000;

export class SpeedMeter {
  /** Smoothed bytes per second (0 until two samples are far enough apart). */
  speed = 0;
  #pos = -1;
  #at = 0;

  /** Records that `pos` bytes were transferred at `now` (ms). A lower `pos` restarts the base. */
  sample(pos: number, now: number): void {
    if (this.#pos < 0 || pos < this.#pos) {
      this.#pos = pos;
      this.#at = now;
      return;
    }
    const dt = now - this.#at;
    if (dt < MIN_WINDOW_MS) return;
    const rate = ((pos - this.#pos) * 1000) / dt;
    const weight = this.speed ? 1 - Math.exp(-dt / TAU_MS) : 1;
    this.speed += weight * (rate - this.speed);
    this.#pos = pos;
    this.#at = now;
  }

  /** Forgets the base and the average (after a pause: the idle time is not a slow rate). */
  reset(): void {
    this.speed = 0;
    this.#pos = -1;
  }
}

/** Seconds left for `remaining` bytes at `speed` bytes/s, rounded up; null when unknown. */
export function eta(remaining: number, speed: number): number | null {
  if (remaining <= 0) return 0;
  return speed > 0 ? Math.ceil(remaining / speed) : null;
}
