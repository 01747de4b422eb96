/**
 * A V8 CPU profile of a child started with `--inspect=127.0.0.1:<port>`, through the
 * inspector protocol (Deno 2.9 has no `--cpu-prof`): where a server's main thread spends a
 * bench phase. The .cpuprofile opens in Chrome DevTools; `topFunctions` summarises it.
 */

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export class InspectorSession {
  readonly #ws: WebSocket;
  readonly #waiting = new Map<number, (result: unknown) => void>();
  #next = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const message = JSON.parse(e.data as string) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.#waiting.get(message.id)?.(message.result);
    };
  }

  static async open(port: number): Promise<InspectorSession> {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      webSocketDebuggerUrl: string;
    }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on port ${port}`);
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`inspector at ${url} refused`));
    });
    return new InspectorSession(ws);
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    const answered = new Promise<T>((resolve) => {
      this.#waiting.set(id, (result) => {
        this.#waiting.delete(id);
        resolve(result as T);
      });
    });
    this.#ws.send(JSON.stringify({ id, method, params }));
    return answered;
  }

  async startProfile(intervalMicros = 250): Promise<void> {
    await this.call("Profiler.enable");
    await this.call("Profiler.setSamplingInterval", { interval: intervalMicros });
    await this.call("Profiler.start");
  }

  async stopProfile(): Promise<CpuProfile> {
    const { profile } = await this.call<{ profile: CpuProfile }>("Profiler.stop");
    return profile;
  }

  close(): void {
    this.#ws.close();
  }
}

/** Self time per function (ms), the heaviest first; idle and GC included as V8 names them. */
export function topFunctions(profile: CpuProfile, count = 25): { fn: string; ms: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\/(registry\.npmjs\.org|h5-uploader|hop)\//, "");
    const key = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([fn, ms]) => ({ fn, ms: Math.round(ms) }));
}
