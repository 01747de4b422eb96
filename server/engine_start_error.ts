/**
 * An engine the node cannot open at start (Redis unreachable, a bucket it may not create):
 * main.ts prints its message as one line and exits non-zero, as for a bad configuration.
 */
export class EngineStartError extends Error {
  override name = "EngineStartError";
}
