// The one client every server in the upload bench is driven by (Node, so it is not the
// server's runtime). Usage:
//   node upload_client.mjs <mode: tus|put> <baseUrl> <file> <concurrency> <chunkBytes|0> [token]
// Prints one JSON line {ms, bytes, statuses}. tus mode: POST creation, then PATCHes of
// chunkBytes (0: one PATCH for the whole file), each with Content-Length.
import fs from "node:fs";
import http from "node:http";

const [mode, base, file, concurrencyArg, chunkArg, token] = process.argv.slice(2);
const size = fs.statSync(file).size;
const concurrency = Number(concurrencyArg);
const chunk = Number(chunkArg) || size;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 2 });
const auth = token ? { Authorization: `Bearer ${token}` } : {};

function request(url, method, headers, bodyFile, range) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res));
    });
    req.on("error", reject);
    if (bodyFile) {
      fs.createReadStream(bodyFile, { highWaterMark: 1 << 20, start: range[0], end: range[1] - 1 })
        .pipe(req);
    } else req.end();
  });
}

async function tusUpload(i) {
  const created = await request(`${base}/api/uploads`, "POST", {
    "Tus-Resumable": "1.0.0",
    "Upload-Length": String(size),
    "Upload-Metadata": `filename ${Buffer.from(`bench-${i}.bin`).toString("base64")}`,
    ...auth,
  });
  if (created.statusCode !== 201) return created.statusCode;
  const location = created.headers.location;
  let status = 0;
  for (let offset = 0; offset < size; offset += chunk) {
    const end = Math.min(size, offset + chunk);
    const res = await request(
      location,
      "PATCH",
      {
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": String(offset),
        "Content-Length": String(end - offset),
        ...auth,
      },
      file,
      [offset, end],
    );
    status = res.statusCode;
    if (status !== 204) return status;
  }
  return status;
}

async function putUpload() {
  const res = await request(
    `${base}/upload`,
    "PUT",
    {
      "Content-Type": "application/offset+octet-stream",
      "Content-Length": String(size),
    },
    file,
    [0, size],
  );
  return res.statusCode;
}

const started = process.hrtime.bigint();
const statuses = await Promise.all(
  Array.from({ length: concurrency }, (_, i) => (mode === "tus" ? tusUpload(i) : putUpload())),
);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
agent.destroy();
console.log(JSON.stringify({ ms, bytes: size * concurrency, statuses }));
