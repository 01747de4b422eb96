import assert from "node:assert/strict";
import { parseCidr } from "./ip.ts";
import { edgeOf, ProxyPolicy } from "./client_address.ts";
import { clientKey, inCidr, LOOPBACK, parseIp } from "./ip.ts";

const request = (headers: Record<string, string>, url = "http://10.1.2.3:8005/api/uploads") =>
  new Request(url, { headers });

Deno.test("ip: v4, v6, mapped, bracketed and ported addresses parse; junk does not", () => {
  assert.deepEqual([...parseIp("192.0.2.7")!.bytes], [192, 0, 2, 7]);
  assert.deepEqual([...parseIp("::ffff:192.0.2.7")!.bytes], [192, 0, 2, 7]);
  assert.deepEqual([...parseIp("192.0.2.7:4711")!.bytes], [192, 0, 2, 7]);
  assert.equal(parseIp("[2001:db8::1]:4711")!.bytes.length, 16);
  assert.equal(parseIp("2001:db8::1")!.bytes[15], 1);
  for (const bad of ["", "unknown", "1.2.3", "256.1.1.1", "1::2::3", "_hidden", "::g"]) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("ip: CIDR ranges and the /64 client key of IPv6", () => {
  assert.ok(inCidr(parseIp("10.200.0.1")!, parseCidr("10.0.0.0/8")!));
  assert.ok(!inCidr(parseIp("11.0.0.1")!, parseCidr("10.0.0.0/8")!));
  assert.ok(inCidr(parseIp("fd00::5")!, parseCidr("fd00::/8")!));
  assert.ok(!inCidr(parseIp("10.0.0.1")!, parseCidr("fd00::/8")!), "families never match");
  assert.ok(LOOPBACK.some((r) => inCidr(parseIp("127.0.0.9")!, r)));
  assert.ok(LOOPBACK.some((r) => inCidr(parseIp("::1")!, r)));
  assert.equal(parseCidr("10.0.0.0/33"), null);
  assert.equal(parseCidr("nope"), null);
  assert.equal(clientKey("2001:db8:1:2::a"), clientKey("2001:db8:1:2:ffff::b"));
  assert.notEqual(clientKey("2001:db8:1:2::a"), clientKey("2001:db8:1:3::a"));
  assert.equal(clientKey("::ffff:192.0.2.7"), "192.0.2.7");
});

Deno.test("proxy: forwarding headers count only from trusted peers", () => {
  const headers = {
    "X-Forwarded-For": "198.51.100.9, 203.0.113.5",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "uploads.example",
  };
  const none = new ProxyPolicy();
  assert.deepEqual(none.resolve(request(headers), "127.0.0.1"), {
    client: "127.0.0.1",
    origin: "http://10.1.2.3:8005",
  });
  const trusting = new ProxyPolicy([parseCidr("10.0.0.0/8")!, ...LOOPBACK]);
  assert.deepEqual(trusting.resolve(request(headers), "192.0.2.1"), {
    client: "192.0.2.1",
    origin: "http://10.1.2.3:8005",
  }, "an untrusted peer's headers are ignored");
  assert.deepEqual(trusting.resolve(request(headers), "127.0.0.1"), {
    client: "203.0.113.5",
    origin: "https://uploads.example",
  }, "the rightmost untrusted hop is the client (the left ones are the client's own claims)");
  assert.equal(
    trusting.resolve(request({ "X-Forwarded-For": "203.0.113.5, 10.0.0.2" }), "10.0.0.3").client,
    "203.0.113.5",
    "a chain of trusted proxies is skipped",
  );
  assert.equal(trusting.resolve(request({}), "127.0.0.1").client, "127.0.0.1");
  assert.equal(
    trusting.resolve(request({ "X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "a b" }), "::1")
      .origin,
    "http://10.1.2.3:8005",
    "a nonsense proto or host is not believed",
  );
  assert.equal(
    trusting.resolve(request({ "X-Forwarded-Proto": "https", Host: "x" }), "::1").origin,
    "https://10.1.2.3:8005",
  );
});

Deno.test("proxy: RFC 7239 Forwarded wins over X-Forwarded-*", () => {
  const trusting = new ProxyPolicy(LOOPBACK);
  const edge = trusting.resolve(
    request({
      Forwarded: 'for=198.51.100.9;proto=http, for="[2001:db8:cafe::17]:4711";proto=https;' +
        "host=up.example:8443",
      "X-Forwarded-For": "192.0.2.99",
    }),
    "127.0.0.1",
  );
  assert.equal(edge.client, clientKey("2001:db8:cafe::1"), "IPv6 clients are keyed by /64");
  assert.equal(edge.origin, "https://up.example:8443");
  assert.equal(
    trusting.resolve(request({ Forwarded: "for=unknown" }), "127.0.0.1").client,
    "unknown",
  );
});

Deno.test("proxy: a pinned public origin wins; edgeOf falls back to the request", () => {
  const pinned = new ProxyPolicy([], "https://uploads.example");
  assert.equal(pinned.resolve(request({}), "192.0.2.1").origin, "https://uploads.example");
  assert.deepEqual(edgeOf(request({}), undefined), {
    client: "local",
    origin: "http://10.1.2.3:8005",
  });
  assert.equal(
    edgeOf(request({}), { remoteAddr: { hostname: "2001:db8::1" } }).client,
    clientKey("2001:db8::2"),
  );
});
