/**
 * Runs the real-time part alone and prints its figures and rows:
 *   deno run -A bench/realtime/main.ts [--quick]
 */
import { run } from "./mod.ts";

const quick = Deno.args.includes("--quick");
const tmpDir = new URL("../tmp", import.meta.url).pathname;
const started = performance.now();
const result = await run({
  quick,
  tmpDir,
  progress: (message) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`),
});
console.log(JSON.stringify(result.figures, null, 2));
console.table(result.rows);
console.error(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
// Sockets and children are closed; nothing should be left, but a stray handle must not hang.
Deno.exit(0);
