/**
 * Cleanup that keeps the test's own failure visible. `await using` reports a failing
 * cleanup as a SuppressedError whose message hides the test's error; here a cleanup that
 * fails after the test failed is logged, and the test's error is what the runner shows.
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

/** Runs `test` with a scope; cleans up whatever happened, and reports the first problem. */
export async function scoped(test: (scope: Scope) => Promise<void>): Promise<void> {
  const scope = new Scope();
  try {
    await test(scope);
  } catch (error) {
    for (const failure of await scope.close()) {
      console.error(`Cleanup "${failure.what}" failed after the test failed:`, failure.error);
    }
    throw error;
  }
  const failures = await scope.close();
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.error),
      `Cleanup failed: ${failures.map((f) => `${f.what}: ${String(f.error)}`).join("; ")}`,
    );
  }
}
