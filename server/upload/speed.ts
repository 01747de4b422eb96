/** Per-upload speed from committed offsets, smoothed (EWMA) so watchers see a steady figure. */
export class SpeedMeter {
  #last = new Map<string, { at: number; offset: number; speed: number }>();

  /** Records an offset at time `at` (ms); returns bytes per second. */
  record(id: string, offset: number, at: number): number {
    const last = this.#last.get(id);
    if (!last || offset < last.offset || at <= last.at) {
      this.#last.set(id, { at, offset, speed: last?.speed ?? 0 });
      return last?.speed ?? 0;
    }
    const instant = ((offset - last.offset) * 1000) / (at - last.at);
    const speed = last.speed === 0 ? instant : last.speed * 0.7 + instant * 0.3;
    this.#last.set(id, { at, offset, speed });
    return speed;
  }

  /** A fresh start (a new PATCH) keeps the smoothed speed but not the old timestamp gap. */
  restart(id: string, offset: number, at: number): void {
    const last = this.#last.get(id);
    this.#last.set(id, { at, offset, speed: last?.speed ?? 0 });
  }

  get(id: string): number | undefined {
    return this.#last.get(id)?.speed;
  }

  forget(id: string): void {
    this.#last.delete(id);
  }

  /** Uploads measured (for tests: it must shrink back when uploads end). */
  get size(): number {
    return this.#last.size;
  }

  snapshot(): ReadonlyMap<string, number> {
    return new Map([...this.#last].map(([id, v]) => [id, v.speed]));
  }
}
