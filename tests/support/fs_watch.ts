/** Waiting on the file system without polling: a condition re-checked on every change. */
import { WAIT_MS, within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

export class FsWatch {
  readonly #watcher: Deno.FsWatcher;
  readonly #loop: Promise<void>;
  #generation = 0;
  #wake = Promise.withResolvers<void>();

  /** Watches `paths` (recursively) until the scope closes. */
  constructor(scope: Scope, paths: string[]) {
    const watcher = Deno.watchFs(paths, { recursive: true });
    this.#watcher = watcher;
    this.#loop = (async () => {
      for await (const _event of watcher) this.#changed();
      this.#changed();
    })();
    scope.defer("stop watching files", () => this.close());
  }

  #changed(): void {
    this.#generation++;
    const wake = this.#wake;
    this.#wake = Promise.withResolvers<void>();
    wake.resolve();
  }

  /**
   * Resolves with the first non-null result of `check`, which runs now and again after
   * every change under the watched paths (changes during a check trigger another one).
   */
  async until<T>(check: () => Promise<T | null>, what: string, ms = WAIT_MS): Promise<T> {
    const run = async (): Promise<T> => {
      for (;;) {
        const generation = this.#generation;
        const wake = this.#wake.promise;
        const result = await check();
        if (result !== null) return result;
        if (generation === this.#generation) await wake;
      }
    };
    return await within(run(), what, ms);
  }

  async close(): Promise<void> {
    try {
      this.#watcher.close();
    } catch {
      // Already closed.
    }
    await this.#loop;
  }
}
