/**
 * Captures `console.error` for the rest of a test. The server runs in the test's process, so
 * what it logs lands here: a 4xx must log nothing, a 5xx must log (it is our own fault).
 */
import assert from "node:assert/strict";
import type { Scope } from "./scope.ts";

export interface ErrorLog {
  /** Every console.error call so far, its arguments joined. */
  readonly calls: string[];
  /** Fails naming `what` and the first lines logged, if anything was logged. */
  assertNone(what: string): void;
  /** Forgets what was logged so far. */
  clear(): void;
}

export function captureErrors(scope: Scope): ErrorLog {
  const original = console.error;
  const calls: string[] = [];
  console.error = (...args: unknown[]) => {
    calls.push(args.map((a) => (a instanceof Error ? a.stack ?? String(a) : String(a))).join(" "));
  };
  scope.defer("restore console.error", () => {
    console.error = original;
  });
  return {
    calls,
    assertNone(what) {
      assert.deepEqual(
        calls.map((c) => c.slice(0, 300)),
        [],
        `${what}: nothing logged as an error`,
      );
    },
    clear() {
      calls.length = 0;
    },
  };
}
