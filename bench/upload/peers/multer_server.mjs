// Peer 2: Express + multer with disk storage (the stack of the spec's original system).
//   PORT=0 node multer_server.mjs <dataDir>
// POST /upload, multipart field `file`; answers 204 once multer has written the file.
import http from "node:http";
// Loaded by name at run time: these live in this folder's node_modules (npm ci), not in the
// repo's Deno import map, so `deno check bench` must not try to resolve them.
const load = (name) => import(name);
const { default: express } = await load("express");
const { default: multer } = await load("multer");

const dest = process.argv[2] ?? "./multer-data";
const upload = multer({ storage: multer.diskStorage({ destination: dest }) });
const app = express();
app.post("/upload", upload.single("file"), (req, res) => {
  if (!req.file) return res.status(400).json({ error: "no file" });
  res.status(204).end();
});
const server = http.createServer(app);
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
