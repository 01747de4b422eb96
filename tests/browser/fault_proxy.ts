/**
 * A TCP fault proxy for the browser tests: every connection of the page goes through it to the
 * upload server, byte for byte, until told to misbehave. It counts the bytes the page sends
 * (request bodies dominate) and, at each multiple of `every`, cuts the connection that crossed
 * it (both sides closed, as a dropped network does), `cuts` times; at the next multiple it holds
 * that connection instead: open, read no more, forward nothing, for `holdMs` (a half-dead link).
 */
import type { Scope } from "../support/scope.ts";

export interface Faults {
  every: number;
  cuts: number;
  holdMs: number;
}

export class FaultProxy {
  readonly url: string;
  /** Faults done so far. */
  cutsDone = 0;
  holdsDone = 0;
  #listener: Deno.TcpListener;
  #upstream: number;
  #faults: Faults | null = null;
  #sent = 0;
  #next = Infinity;
  #conns = new Set<Deno.Conn>();
  #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(upstreamUrl: string, scope: Scope) {
    this.#upstream = Number(new URL(upstreamUrl).port);
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.url = `http://127.0.0.1:${this.#listener.addr.port}`;
    scope.defer("close the fault proxy", () => this.close());
    void this.#accept();
  }

  /** Faults from now on (null: a clean pipe). */
  set(faults: Faults | null): void {
    this.#faults = faults;
    this.#sent = 0;
    this.#next = faults ? faults.every : Infinity;
    this.cutsDone = this.holdsDone = 0;
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const conn of this.#conns) quietly(() => conn.close());
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) void this.#serve(client);
    } catch { /* the listener closed */ }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: this.#upstream });
    } catch {
      return quietly(() => client.close());
    }
    this.#conns.add(client).add(server);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      for (const conn of [client, server]) {
        this.#conns.delete(conn);
        quietly(() => conn.close());
      }
    };
    void pump(server, client, () => "go").then(close);
    const end = await pump(client, server, (n) => this.#verdict(n));
    if (end !== "hold") return close();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      close();
    }, this.#faults!.holdMs);
    this.#timers.add(timer);
  }

  #verdict(n: number): Verdict {
    const faults = this.#faults;
    this.#sent += n;
    if (!faults || this.#sent < this.#next) return "go";
    this.#next += faults.every;
    if (this.cutsDone < faults.cuts) {
      this.cutsDone++;
      return "cut";
    }
    if (this.holdsDone === 0) {
      this.holdsDone++;
      return "hold";
    }
    return "go";
  }
}

type Verdict = "go" | "cut" | "hold";

/** Copies `from` to `to` until either ends, a cut (after forwarding the chunk) or a hold. */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  verdict: (n: number) => Verdict,
): Promise<"end" | "hold"> {
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await from.read(buffer);
    } catch {
      return "end";
    }
    if (n === null) return "end";
    const v = verdict(n);
    if (v === "hold") return "hold";
    try {
      for (let at = 0; at < n;) at += await to.write(buffer.subarray(at, n));
    } catch {
      return "end";
    }
    if (v === "cut") return "end";
  }
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch { /* already closed */ }
}
