/**
 * Our server with the widget routes, as its own process (like the bare server it is measured
 * against): the API, `/h5-uploader.js` from `<distDir>` and `/` = bench/widget/page/.
 *
 *   PORT=0 deno run -A bench/widget/serve.ts <dataDir> <distDir>
 *
 * Prints `listening on <url>`; stops on SIGTERM or SIGINT.
 */
import { loadConfig } from "../../server/config.ts";
import { startServer } from "../../server/main.ts";
import { widgetRoutes } from "../../server/routes/widget.ts";

const [dataDir, distDir] = Deno.args;
if (!dataDir || !distDir) {
  console.error("usage: deno run -A bench/widget/serve.ts <dataDir> <distDir>");
  Deno.exit(2);
}
const config = loadConfig({
  H5_DATA_DIR: dataDir,
  PORT: Deno.env.get("PORT") ?? "0",
  HOST: "127.0.0.1",
});
const server = await startServer(config, {
  quiet: true,
  extra: widgetRoutes({
    distDir,
    demoDir: new URL("page/", import.meta.url),
    allowedOrigins: config.allowedOrigins,
  }),
});
console.log(`listening on ${server.url}`);
const stop = async () => {
  await server.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
