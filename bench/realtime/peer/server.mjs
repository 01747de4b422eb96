/**
 * The reference of bench/realtime: a plain Socket.IO 4 server on Node, nothing else. Each
 * socket joins the room `session:<sessionId>` from its handshake query. `POST /emit?room=<id>`
 * emits one `upload-progress`-shaped payload to that room, stamped when the request arrived,
 * so the bench measures emit -> watcher delivery as it measures commit -> watcher delivery on
 * our server.
 *
 *   PORT=0 node bench/realtime/peer/server.mjs   # prints "listening on http://127.0.0.1:<port>"
 */
import { createServer } from "node:http";
import { Server } from "socket.io";

const httpServer = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://peer");
  if (req.method !== "POST" || url.pathname !== "/emit") {
    res.writeHead(404).end();
    return;
  }
  const timestamp = new Date().toISOString();
  const room = url.searchParams.get("room") ?? "";
  const uploaded = Number(url.searchParams.get("uploaded") ?? 0);
  const total = Number(url.searchParams.get("total") ?? 1);
  const progress = Math.round((uploaded / total) * 10000) / 100;
  const done = uploaded >= total;
  io.to(`session:${room}`).emit("upload-progress", {
    sessionId: room,
    overallStatus: done ? "completed" : "uploading",
    totalProgress: progress,
    completedFiles: done ? 1 : 0,
    failedFiles: 0,
    currentFile: {
      id: url.searchParams.get("file") ?? "file",
      originalName: "bench.bin",
      progress,
      status: done ? "completed" : "uploading",
      uploadSpeed: 0,
      uploadedBytes: uploaded,
      totalBytes: total,
    },
    message: done ? "Upload complete" : "Uploading",
    timestamp,
  });
  // Drains the (empty) body so keep-alive connections are reused.
  req.resume();
  req.on("end", () => res.writeHead(204).end());
});

const io = new Server(httpServer, {
  path: "/socket.io/",
  serveClient: false,
  httpCompression: false,
  perMessageDeflate: false,
});

io.use((socket, next) => {
  const sessionId = socket.handshake.query.sessionId;
  if (typeof sessionId !== "string" || sessionId === "") {
    next(new Error("sessionId missing"));
    return;
  }
  socket.data.sessionId = sessionId;
  next();
});

io.on("connection", (socket) => {
  socket.join(`session:${socket.data.sessionId}`);
  socket.emit("connection-status", { status: "connected", message: "Watching" });
});

const stop = () => {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

httpServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = /** @type {import("node:net").AddressInfo} */ (httpServer.address());
  console.log(`listening on http://${address}:${port}`);
});
