/**
 * The soak's server: `server/main.ts`'s startServer with the same configuration from the
 * environment, plus one `soak-stats` JSON line on stdout every 5 s (memory by kind and the
 * service's in-memory maps), so the report can tell a leak (live heap growing) from a heap
 * that has not settled yet. With `--gc-probe` (diagnostics only, it changes what RSS means)
 * a full GC runs before each line, so `heapUsed` is the live heap.
 */
import { loadConfig } from "../../server/config.ts";
import { startServer } from "../../server/main.ts";

const running = await startServer(loadConfig(Deno.env.toObject()));
const probe = Deno.args.includes("--gc-probe");
const gc = (globalThis as { gc?: () => void }).gc;
setInterval(() => {
  if (probe) gc?.();
  const memory = Deno.memoryUsage();
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  console.log(`soak-stats ${
    JSON.stringify({
      rssMiB: mib(memory.rss),
      heapUsedMiB: mib(memory.heapUsed),
      heapTotalMiB: mib(memory.heapTotal),
      externalMiB: mib(memory.external),
      ...running.service.stateSizes(),
    })
  }`);
}, 5000);
const stop = async () => {
  await running.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
