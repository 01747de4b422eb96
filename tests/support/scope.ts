/**
 * Cleanup that keeps the test's own failure visible (the Scope itself lives in
 * tools/services/scope.ts, shared with `deno task cluster`).
 */
import { Scope } from "../../tools/services/scope.ts";

export { Scope };

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
