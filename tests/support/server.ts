/** A real server started in-process on port 0 over a temporary data folder. */
import { loadConfig } from "../../server/config.ts";
import { type RunningServer, startServer } from "../../server/main.ts";
import type { StateStore } from "../../server/state/store.ts";
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";

export interface TestServer extends AsyncDisposable {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The tus endpoint, `<url>/api/uploads`. */
  tusEndpoint: string;
  /** H5_DATA_DIR. */
  dataDir: string;
  /** `<dataDir>/uploads`: finished files (uploadPath is relative to it) and `.parts/`. */
  uploadsDir: string;
  running: RunningServer;
  /** Closes the server (idempotent). The data folder stays until dispose. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra environment, e.g. `{H5_ALLOW_ANONYMOUS: "true"}`. */
  env?: Record<string, string>;
  /** Use this folder as H5_DATA_DIR (not removed on dispose); default: a new temp folder. */
  dataDir?: string;
  /** Disposes the server (and its temp folder) when the scope closes. */
  scope?: Scope;
  /** How often the expiry sweep runs (default: derived from H5_SESSION_TIMEOUT_MS). */
  sweepEveryMs?: number;
  /** The upload service's clock (expiry and retention), e.g. `() => clock.now`. */
  now?: () => number;
  /** Wraps the server's state store, e.g. to count its reads (see countingStore). */
  wrapStore?: (store: StateStore) => StateStore;
}

/**
 * A store that counts the calls of each method and otherwise is `store`: what a test reads
 * to prove how often the server reads its state.
 */
export function countingStore(store: StateStore, calls: Map<string, number>): StateStore {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "h5-e2e-" });
  let running: RunningServer;
  try {
    const config = loadConfig({
      H5_DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      ...options.env,
    });
    running = await startServer(config, {
      quiet: true,
      sweepEveryMs: options.sweepEveryMs,
      ...(options.now ? { now: options.now } : {}),
      ...(options.wrapStore ? { wrapStore: options.wrapStore } : {}),
    });
  } catch (error) {
    if (owned) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  let closing: Promise<void> | undefined;
  // Bounded: a close that hangs (a request the server cannot end) fails the test by name.
  const close = () => closing ??= within(running.close(), "the server to close");
  const server: TestServer = {
    url: running.url,
    tusEndpoint: `${running.url}/api/uploads`,
    dataDir,
    uploadsDir: `${dataDir}/uploads`,
    running,
    close,
    async [Symbol.asyncDispose]() {
      try {
        await close();
      } finally {
        if (owned) await Deno.remove(dataDir, { recursive: true });
      }
    },
  };
  options.scope?.defer("close the server", () => server[Symbol.asyncDispose]());
  return server;
}

/** A port that was free a moment ago (for a child process that must be told its port). */
export { freePort } from "../../tools/services/ports.ts";
