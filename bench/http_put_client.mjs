// Sends one file as a PUT body with Content-Length and prints {status, bytes, ms, body} as JSON.
// Usage: node bench/http_put_client.mjs <url> <file>
import fs from "node:fs";
import http from "node:http";

const [url, file] = process.argv.slice(2);
if (!url || !file) {
  console.error("usage: node http_put_client.mjs <url> <file>");
  process.exit(2);
}
const bytes = fs.statSync(file).size;
const started = process.hrtime.bigint();
const request = http.request(url, {
  method: "PUT",
  headers: { "Content-Length": bytes, "Content-Type": "application/offset+octet-stream" },
}, (response) => {
  const chunks = [];
  response.on("data", (chunk) => chunks.push(chunk));
  response.on("end", () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const body = Buffer.concat(chunks).toString();
    console.log(JSON.stringify({ status: response.statusCode, bytes, ms, body }));
  });
});
request.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
// 1 MiB reads keep the client from being the bottleneck.
fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(request);
