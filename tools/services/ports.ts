/** Ports for children that must be told theirs, and the wait for one that prints nothing. */
import { within } from "./deadline.ts";

/** A port that was free a moment ago (for a child process that must be told its port). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Resolves once `port` accepts a connection; rejects when `gone()` says the process that
 * should listen there has exited (with its reason). Each attempt is a refused or accepted
 * connection; the 20 ms between attempts only spaces them out.
 */
export function waitForPort(
  port: number,
  what: string,
  gone: () => string | null,
  ms?: number,
): Promise<void> {
  return within(
    (async () => {
      for (;;) {
        const why = gone();
        if (why !== null) throw new Error(`${what} exited before it listened: ${why}`);
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })(),
    `${what} to listen on port ${port}`,
    ms,
  );
}
