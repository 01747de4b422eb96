/**
 * Cleanups run in reverse order, each failure collected rather than thrown, so that one
 * failing cleanup neither hides the error that ended the work nor skips the other cleanups
 * (tests: tests/support/scope.ts `scoped`; `deno task cluster`: its Ctrl-C).
 */
export class Scope {
  #cleanups: { what: string; run: () => unknown }[] = [];

  /** Runs `run` at the end, in reverse order of registration. */
  defer(what: string, run: () => unknown): void {
    this.#cleanups.push({ what, run });
  }

  /** Runs every cleanup; returns the failures. */
  async close(): Promise<{ what: string; error: unknown }[]> {
    const failures: { what: string; error: unknown }[] = [];
    for (const { what, run } of this.#cleanups.splice(0).reverse()) {
      try {
        await run();
      } catch (error) {
        failures.push({ what, error });
      }
    }
    return failures;
  }
}
