// The one client every stack of the upload bench is driven by (Node, so it is neither
// server's runtime). One argument, a JSON job:
//   node client.mjs '{"mode":"tus","base":"http://127.0.0.1:8005","files":["a.bin","a.bin"],
//                     "chunk":0,"sessions":1,"watch":true}'
// mode  tus:       tus 1.0.0 creation POST at <base>/api/uploads, then PATCHes of `chunk` bytes
//                  (0: one PATCH for the whole file), each with Content-Length.
//       put:       one PUT <base>/upload per file (the bare limit server).
//       multipart: one POST <base>/upload per file, multipart/form-data field `file`, the body
//                  built around a file stream (no buffering) with an exact Content-Length.
// files: one entry per upload; all uploads run at once.
// sessions (tus only, h5-uploader): create that many sessions (POST /api/sessions), uploads
//   spread round-robin over them, each with Authorization: Bearer <token>; with `watch`, one
//   Socket.IO watcher per session. Session i talks from 127.0.0.<2+i>, as a separate device
//   would (the server limits session creation and socket handshakes per address).
// Prints "ready" once sessions and sockets are set up, waits for a line on stdin, uploads,
// then prints one JSON line: {ms, bytes, statuses, details, setupMs, completed: {heard,
// expected, lastMs}}. `ms` runs from the first upload request to the last response; session
// and socket setup is before it and not counted.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";

const job = JSON.parse(process.argv[2]);
const { mode, base, files } = job;
const chunkSize = Number(job.chunk ?? 0);
const sessionCount = Number(job.sessions ?? 0);
const agent = new http.Agent({ keepAlive: true, maxSockets: files.length * 2 + 4 });
const sizes = new Map(files.map((f) => [f, fs.statSync(f).size]));

function request(url, method, headers, body, localAddress) {
  return new Promise((resolve, reject) => {
    const options = { method, headers, agent };
    if (localAddress) options.localAddress = localAddress;
    const req = http.request(url, options, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ res, text: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else body(req);
  });
}

/** Streams bytes [start, end) of `file` into `req`, between optional head and tail buffers. */
function streamFile(file, start, end, head, tail) {
  return (req) => {
    if (head) req.write(head);
    const stream = fs.createReadStream(file, { highWaterMark: 1 << 20, start, end: end - 1 });
    stream.on("error", (e) => req.destroy(e));
    if (end <= start) {
      req.end(tail);
      return;
    }
    stream.pipe(req, { end: false });
    stream.on("end", () => req.end(tail));
  };
}

function b64(s) {
  return Buffer.from(s).toString("base64");
}

async function tusUpload(file, i, session) {
  const size = sizes.get(file);
  const ext = path.extname(file) || ".bin";
  const auth = session ? { Authorization: `Bearer ${session.token}` } : {};
  const metadata = [
    `filename ${b64(`bench-${i}${ext}`)}`,
    `filetype ${b64(ext === ".jpg" ? "image/jpeg" : "application/octet-stream")}`,
  ];
  if (session) metadata.push(`sessionId ${b64(session.sessionId)}`);
  const created = await request(
    `${base}/api/uploads`,
    "POST",
    {
      "Tus-Resumable": "1.0.0",
      "Upload-Length": String(size),
      "Upload-Metadata": metadata.join(","),
      ...auth,
    },
    undefined,
    session?.address,
  );
  if (created.res.statusCode !== 201) {
    return { status: created.res.statusCode, detail: created.text.slice(0, 300) };
  }
  const location = new URL(created.res.headers.location, base).href;
  const id = location.split("/").at(-1);
  if (session) session.expect.add(id);
  const chunk = chunkSize || size;
  let status = 204;
  for (let offset = 0; offset < size; offset += chunk) {
    const end = Math.min(size, offset + chunk);
    const { res, text } = await request(
      location,
      "PATCH",
      {
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": String(offset),
        "Content-Length": String(end - offset),
        ...auth,
      },
      streamFile(file, offset, end),
      session?.address,
    );
    status = res.statusCode;
    if (status !== 204) return { status, detail: text.slice(0, 300) };
    const at = Number(res.headers["upload-offset"]);
    if (at !== end) return { status: -1, detail: `Upload-Offset ${at} after PATCH to ${end}` };
  }
  return { status, id };
}

async function putUpload(file) {
  const size = sizes.get(file);
  const { res, text } = await request(`${base}/upload`, "PUT", {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(size),
  }, streamFile(file, 0, size));
  return { status: res.statusCode, detail: text.slice(0, 300) };
}

async function multipartUpload(file, i) {
  const size = sizes.get(file);
  const boundary = `----h5bench${Math.random().toString(16).slice(2)}${i}`;
  const head = Buffer.from(
    `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="file"; filename="bench-${i}${
        path.extname(file) || ".bin"
      }"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const { res, text } = await request(`${base}/upload`, "POST", {
    "Content-Type": `multipart/form-data; boundary=${boundary}`,
    "Content-Length": String(head.length + size + tail.length),
  }, streamFile(file, 0, size, head, tail));
  return { status: res.statusCode, detail: text.slice(0, 300) };
}

async function openSession(i) {
  const address = `127.0.0.${2 + (i % 250)}`;
  const { res, text } = await request(
    `${base}/api/sessions`,
    "POST",
    { "Content-Type": "application/json" },
    JSON.stringify({ category: "scenic", clientType: "web" }),
    address,
  );
  if (res.statusCode !== 201) throw new Error(`POST /api/sessions: ${res.statusCode} ${text}`);
  const { sessionId, token } = JSON.parse(text);
  return { sessionId, token, address, expect: new Set(), heard: new Set(), socket: null };
}

function watch(session, io, startedAt) {
  const socket = io(base, {
    auth: { token: session.token },
    query: { sessionId: session.sessionId, clientType: "web" },
    transports: ["websocket"],
    localAddress: session.address,
    reconnection: false,
  });
  session.socket = socket;
  socket.on("upload-completed", (payload) => {
    session.heard.add(payload.fileId);
    session.lastHeard = Number(process.hrtime.bigint() - startedAt.value) / 1e6;
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (e) => reject(new Error(`watcher: ${e.message}`)));
  });
}

const setupStarted = process.hrtime.bigint();
const started = { value: setupStarted };
const sessions = [];
if (mode === "tus" && sessionCount > 0) {
  for (let i = 0; i < sessionCount; i++) sessions.push(await openSession(i));
  if (job.watch) {
    const require = createRequire(new URL("./peers/package.json", import.meta.url));
    const { io } = require("socket.io-client");
    await Promise.all(sessions.map((s) => watch(s, io, started)));
  }
}
const setupMs = Number(process.hrtime.bigint() - setupStarted) / 1e6;

// Tell the bench the uploads are about to start (it reads the server's CPU time), then wait.
process.stdout.write("ready\n");
await new Promise((resolve) => {
  process.stdin.once("data", resolve);
  process.stdin.once("end", resolve);
});
process.stdin.pause();

started.value = process.hrtime.bigint();
const results = await Promise.all(files.map((file, i) => {
  if (mode === "tus") return tusUpload(file, i, sessions[i % Math.max(1, sessions.length)]);
  if (mode === "put") return putUpload(file);
  if (mode === "multipart") return multipartUpload(file, i);
  throw new Error(`unknown mode ${mode}`);
}));
const ms = Number(process.hrtime.bigint() - started.value) / 1e6;

const completed = { heard: 0, expected: 0, lastMs: 0 };
if (job.watch) {
  const deadline = Date.now() + 15_000;
  const missing = () => sessions.some((s) => [...s.expect].some((id) => !s.heard.has(id)));
  while (missing() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const s of sessions) {
    completed.expected += s.expect.size;
    completed.heard += [...s.expect].filter((id) => s.heard.has(id)).length;
    completed.lastMs = Math.max(completed.lastMs, s.lastHeard ?? 0);
    s.socket?.disconnect();
  }
}
agent.destroy();
const bytes = files.reduce((sum, f) => sum + sizes.get(f), 0);
console.log(JSON.stringify({
  ms,
  bytes,
  setupMs,
  statuses: results.map((r) => r.status),
  details: results.filter((r) => r.detail).map((r) => `${r.status} ${r.detail}`).slice(0, 3),
  completed,
}));
process.exit(0);
