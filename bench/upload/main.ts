/**
 * The upload part alone: `deno run -A bench/upload/main.ts [--quick] [--json]`.
 * Prints progress on stderr, then the rows (or with --json the whole result) on stdout.
 */
import { run } from "./mod.ts";

const quick = Deno.args.includes("--quick");
const result = await run({
  quick,
  tmpDir: new URL("../tmp", import.meta.url).pathname,
  progress: (message) => console.error(message),
});
if (Deno.args.includes("--json")) {
  console.log(JSON.stringify(result, null, 1));
} else {
  console.log("| group | figure | value | target | met |\n| --- | --- | --- | --- | --- |");
  for (const row of result.rows) {
    const met = row.met === undefined ? "" : row.met ? "yes" : "**no**";
    console.log(`| ${row.group} | ${row.name} | ${row.value} | ${row.target ?? ""} | ${met} |`);
  }
}
