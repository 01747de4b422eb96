/**
 * Runs the widget part of the bench alone and prints its figures and rows.
 *
 *   deno run -A bench/widget/main.ts [--quick]
 */
import { run } from "./mod.ts";

const quick = Deno.args.includes("--quick");
const tmpDir = new URL("../tmp/", import.meta.url).pathname;
const started = performance.now();
const result = await run({
  quick,
  tmpDir,
  progress: (message) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`),
});
console.log(JSON.stringify(result.figures, null, 2));
for (const row of result.rows) {
  const target = row.target ? `  target ${row.target}: ${row.met ? "met" : "MISSED"}` : "";
  console.log(`${row.group} | ${row.name} | ${row.value}${target}`);
}
console.error(`bench/widget took ${((performance.now() - started) / 1000).toFixed(1)} s`);
