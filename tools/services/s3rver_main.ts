/**
 * Runs s3rver (npm) as its own process: `deno run -A s3rver_main.ts <dir> <port>`. A child,
 * not an in-process server, so a test can kill a node without killing the bucket.
 */
import S3rver from "s3rver";

const [directory, port] = Deno.args;
if (!directory || !port) throw new Error("usage: s3rver_main.ts <dir> <port>");
const server = new S3rver({ address: "127.0.0.1", port: Number(port), directory, silent: true });
const { address, port: bound } = await server.run();
console.log(`s3rver listening on ${address}:${bound}`);
// SIGINT too: Ctrl-C in a terminal reaches every process of `deno task cluster` at once.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => server.close().finally(() => Deno.exit(0)));
}
