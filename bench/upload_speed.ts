/**
 * `deno task bench:upload [--quick] [--json]`: the upload part of the bench alone
 * (bench/upload/mod.ts: our server against the bare limit, @tus/server and Express + multer,
 * memory as work grows). `deno task bench` runs it with the other parts and writes
 * bench/results/latest.json.
 */
import "./upload/main.ts";
