import assert from "node:assert/strict";
import { parse as regexParse } from "engine.io-client";
import { parse } from "./parseuri.ts";

/** What socket.io-client and engine.io-client read, normalized as they normalize it. */
function used(uri: ReturnType<typeof parse> | ReturnType<typeof regexParse>) {
  const port = uri.port || (/s$/.test(uri.protocol) ? "443" : "80");
  return {
    protocol: uri.protocol,
    host: uri.host,
    port,
    path: uri.path || "/",
    query: uri.query,
    queryKey: { ...uri.queryKey },
  };
}

Deno.test("parseuri - the URL-based parser reads URLs as engine.io-client's regex does", () => {
  for (
    const url of [
      "http://localhost:8005",
      "https://uploads.example",
      "https://uploads.example:8443/",
      "http://127.0.0.1:8731/socket.io/?EIO=4&transport=websocket",
      "https://uploads.example/tenant/a?x=1&y=two",
      "http://[::1]:8005",
      "wss://uploads.example/socket.io/",
    ]
  ) {
    assert.deepEqual(used(parse(url)), used(regexParse(url)), url);
  }
});

Deno.test("parseuri - default ports are empty (the clients fill them in)", () => {
  assert.equal(parse("https://uploads.example:443").port, "");
  assert.equal(parse("http://uploads.example:8080").port, "8080");
});
