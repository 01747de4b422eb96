// The one client every stack of the upload bench is driven by. One argument, a JSON job:
//   node client.mjs '{"mode":"tus","base":"http://127.0.0.1:8005","files":["a.bin","a.bin"],
//                     "chunk":0,"sessions":1,"watch":true,"transport":"curl"}'
// transport curl (default): every request that carries file bytes is one `curl` process
//       (`-T file` for PATCH and PUT, `-F file=@...` for multipart; 8 MiB PATCHes of one
//       upload are `--next` transfers of one curl over one connection, from chunk files split
//       during setup). Node does only the small requests (sessions, tus creation) and the
//       watchers. Measured: one Node process pushing the body was itself the bottleneck and
//       squeezed every ratio towards 1.
//   node: the bytes go through Node's http client (kept to show that difference in the run).
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
// expected, lastMs}, uploads: [{url, token} | null per file]}. `ms` runs from the first upload
// request to the last response; session and socket setup is before it and not counted.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";

const job = JSON.parse(process.argv[2]);
const { mode, base, files } = job;
const chunkSize = Number(job.chunk ?? 0);
const sessionCount = Number(job.sessions ?? 0);
const viaCurl = (job.transport ?? "curl") === "curl";
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

const MARK = "\n@@curl ";
/** Options of one curl transfer; `--next` separates transfers of one process. */
function curlTransfer(method, url, headers, upload, localAddress) {
  const args = ["-sS", "-X", method, "-H", "Expect:"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  if (localAddress) args.push("--interface", localAddress);
  args.push(...upload, url);
  return args;
}

/**
 * Runs one curl with `transfers` (in parallel with `-Z`, else one after another over one
 * connection); resolves one {status, offset, text} per transfer, in the order given.
 */
function curl(transfers, parallel = false) {
  const args = parallel ? ["-Z", "--parallel-immediate", "--parallel-max", "1000"] : [];
  transfers.forEach((t, i) => {
    if (i) args.push("--next");
    args.push("-w", `${MARK}${i} %{http_code} %header{upload-offset}\n`, ...t);
  });
  return new Promise((resolve, reject) => {
    const child = spawn("curl", args, { stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    const err = [];
    child.stdout.on("data", (c) => out.push(c));
    child.stderr.on("data", (c) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      // <body>MARK<i> <status> <offset>\n<body>MARK... (bodies of parallel transfers may mix;
      // they are only shown when something failed).
      const parts = Buffer.concat(out).toString().split(MARK);
      const results = transfers.map(() => ({
        status: -1,
        text: `curl exit ${code}: ${err.join("")}`,
      }));
      let text = parts[0];
      for (const part of parts.slice(1)) {
        const newline = part.indexOf("\n");
        const [i, status, offset] = part.slice(0, newline).split(" ");
        results[Number(i)] = { status: Number(status), offset, text };
        text = part.slice(newline + 1);
      }
      resolve(results);
    });
  });
}

/**
 * Uploads of one whole file each go out in one `curl -Z`, once every upload has handed in
 * its transfer (or dropped out): a curl process per upload cost more than small files take.
 */
const batch = viaCurl && !chunkSize && files.length > 1 ? { want: files.length, items: [] } : null;
function curlOne(transfer) {
  if (!batch) return curl([transfer]).then(([r]) => r);
  return new Promise((resolve) => {
    batch.items.push({ transfer, resolve });
    runBatchIfFull();
  });
}
function dropOut() {
  if (!batch) return;
  batch.want--;
  runBatchIfFull();
}
function runBatchIfFull() {
  if (batch.items.length < batch.want || !batch.items.length) return;
  const items = batch.items.splice(0);
  curl(items.map((item) => item.transfer), true).then((results) =>
    items.forEach((item, i) => item.resolve(results[i]))
  );
}

/** Chunk files of `file` (split once, during setup): curl can only send whole files. */
const chunkFiles = new Map();
function splitForCurl(file) {
  const dir = `${file}.chunks-${chunkSize}`;
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(`${dir}.tmp`, { recursive: true });
    const out = spawnSync("split", ["-b", String(chunkSize), "-a", "5", "-d", file, `${dir}.tmp/`]);
    if (out.status !== 0) throw new Error(`split ${file}: ${out.stderr}`);
    fs.renameSync(`${dir}.tmp`, dir);
  }
  chunkFiles.set(file, fs.readdirSync(dir).sort().map((name) => `${dir}/${name}`));
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
    dropOut();
    return { status: created.res.statusCode, detail: created.text.slice(0, 300) };
  }
  const location = new URL(created.res.headers.location, base).href;
  const id = location.split("/").at(-1);
  if (session) session.expect.add(id);
  const patchHeaders = (offset) => ({
    "Tus-Resumable": "1.0.0",
    "Content-Type": "application/offset+octet-stream",
    "Upload-Offset": String(offset),
    ...auth,
  });
  if (viaCurl) {
    const pieces = chunkSize ? chunkFiles.get(file) : [file];
    const transfers = pieces.map((piece, n) =>
      curlTransfer("PATCH", location, patchHeaders(n * chunkSize), ["-T", piece], session?.address)
    );
    let end = 0;
    const results = chunkSize ? await curl(transfers) : [await curlOne(transfers[0])];
    for (const [n, r] of results.entries()) {
      if (r.status !== 204) return { status: r.status, detail: r.text.slice(0, 300) };
      end = chunkSize ? Math.min(size, (n + 1) * chunkSize) : size;
      if (Number(r.offset) !== end) {
        return { status: -1, detail: `Upload-Offset ${r.offset} after PATCH to ${end}` };
      }
    }
    return end === size
      ? { status: 204, id, url: location, token: session?.token }
      : { status: -1, detail: `stopped at ${end}` };
  }
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
  return { status, id, url: location, token: session?.token };
}

async function putUpload(file) {
  const size = sizes.get(file);
  if (viaCurl) {
    const headers = { "Content-Type": "application/octet-stream" };
    const r = await curlOne(curlTransfer("PUT", `${base}/upload`, headers, ["-T", file]));
    return { status: r.status, detail: r.text.slice(0, 300) };
  }
  const { res, text } = await request(`${base}/upload`, "PUT", {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(size),
  }, streamFile(file, 0, size));
  return { status: res.statusCode, detail: text.slice(0, 300) };
}

async function multipartUpload(file, i) {
  const size = sizes.get(file);
  if (viaCurl) {
    const name = `bench-${i}${path.extname(file) || ".bin"}`;
    const form = ["-F", `file=@${file};type=application/octet-stream;filename=${name}`];
    const r = await curlOne(curlTransfer("POST", `${base}/upload`, {}, form));
    return { status: r.status, detail: r.text.slice(0, 300) };
  }
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
if (viaCurl && mode === "tus" && chunkSize) {
  for (const file of new Set(files)) {
    splitForCurl(file);
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
  // Per file, in order: where the finished tus upload is and the token that may read it back.
  uploads: results.map((r) => r.url ? { url: r.url, token: r.token ?? null } : null),
}));
process.exit(0);
