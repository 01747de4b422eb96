// Peer 1: @tus/server with its FileStore on Node, as its README sets it up.
//   PORT=0 node tus_server.mjs <dataDir>
// Files land in <dataDir>/<id> with a <id>.json sidecar (the upload's metadata).
import http from "node:http";
// Loaded by name at run time: these live in this folder's node_modules (npm ci), not in the
// repo's Deno import map, so `deno check bench` must not try to resolve them.
const load = (name) => import(name);
const { Server } = await load("@tus/server");
const { FileStore } = await load("@tus/file-store");

const directory = process.argv[2] ?? "./tus-data";
const tus = new Server({
  path: "/api/uploads",
  datastore: new FileStore({ directory }),
  respectForwardedHeaders: false,
  maxSize: 16 * 2 ** 30,
});
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
