/**
 * Item 13: behind a reverse proxy. Forwarding headers count only from H5_TRUST_PROXY peers;
 * then every limit keys on the real client and every URL handed out is the public one.
 * Once with headers sent directly, once through a real nginx terminating TLS.
 */
import assert from "node:assert/strict";
import { metadata } from "../server/testing/harness.ts";
import { findProxyTools, startNginx } from "./support/nginx.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer } from "./support/server.ts";
import { rawUpgrade } from "./support/ws_upgrade.ts";

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function createSessionAs(
  base: string,
  headers: Record<string, string>,
  client?: Deno.HttpClient,
): Promise<Answer> {
  const init: RequestInit & { client?: Deno.HttpClient } = {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ category: "personal", clientType: "web" }),
  };
  if (client) init.client = client;
  const res = await fetch(`${base}/api/sessions`, init);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

async function createUploadAs(
  base: string,
  session: Record<string, unknown>,
  headers: Record<string, string>,
  client?: Deno.HttpClient,
): Promise<Answer> {
  const init: RequestInit & { client?: Deno.HttpClient } = {
    method: "POST",
    headers: {
      "Tus-Resumable": "1.0.0",
      Authorization: `Bearer ${session.token}`,
      "Upload-Length": "100",
      "Content-Length": "0",
      "Upload-Metadata": metadata({
        filename: "a.jpg",
        filetype: "image/jpeg",
        sessionId: String(session.sessionId),
        category: "personal",
      }),
      ...headers,
    },
  };
  if (client) init.client = client;
  const res = await fetch(`${base}/api/uploads`, init);
  await res.body?.cancel();
  return { status: res.status, body: {}, headers: res.headers };
}

const FORWARDED = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "uploads.example" };

Deno.test("proxy: from a trusted peer, X-Forwarded-* give the client and the public URLs", () =>
  scoped(async (scope) => {
    const server = await startTestServer({
      scope,
      env: { H5_TRUST_PROXY: "loopback", H5_SESSION_RATE: "2" },
    });
    const as = (client: string) => ({ ...FORWARDED, "X-Forwarded-For": client });
    const first = await createSessionAs(server.url, as("198.51.100.1"));
    assert.equal(first.status, 201);
    assert.equal(first.body.uploadUrl, "https://uploads.example/api/uploads");
    const upload = await createUploadAs(server.url, first.body, as("198.51.100.1"));
    assert.equal(upload.status, 201);
    assert.match(upload.headers.get("Location")!, /^https:\/\/uploads\.example\/api\/uploads\//);

    // H5_SESSION_RATE per client, not per proxy.
    assert.equal((await createSessionAs(server.url, as("198.51.100.1"))).status, 201);
    const third = await createSessionAs(server.url, as("198.51.100.1"));
    assert.equal(third.status, 429);
    assert.equal((third.body.error as { code: string }).code, "RATE_LIMIT_EXCEEDED");
    assert.equal((await createSessionAs(server.url, as("198.51.100.2"))).status, 201);

    // IPv6 clients count by /64: another address of the same /64 is the same client.
    assert.equal((await createSessionAs(server.url, as("2001:db8:1:2::a"))).status, 201);
    assert.equal((await createSessionAs(server.url, as("2001:db8:1:2::b"))).status, 201);
    assert.equal((await createSessionAs(server.url, as("2001:db8:1:2:ffff::c"))).status, 429);
    assert.equal((await createSessionAs(server.url, as("2001:db8:1:3::a"))).status, 201);

    // Same origin is the public one: the page at https://uploads.example may call the API.
    const sameOrigin = await createSessionAs(server.url, {
      ...as("198.51.100.3"),
      Origin: "https://uploads.example",
    });
    assert.equal(sameOrigin.status, 201, JSON.stringify(sameOrigin.body));
  }));

Deno.test("proxy: the Socket.IO hop counts sockets per client behind a trusted proxy", () =>
  scoped(async (scope) => {
    const server = await startTestServer({
      scope,
      env: { H5_TRUST_PROXY: "loopback", H5_MAX_SOCKETS_PER_IP: "1" },
    });
    const as = (client: string) => [`X-Forwarded-For: ${client}`];
    assert.equal((await rawUpgrade(scope, server.url, as("198.51.100.1"))).status, 101);
    // Another client behind the same proxy has a place of its own...
    assert.equal((await rawUpgrade(scope, server.url, as("198.51.100.2"))).status, 101);
    // ...the same client, or another address of its IPv6 /64, does not.
    const again = await rawUpgrade(scope, server.url, as("198.51.100.1"));
    assert.equal(again.status, 429, again.text);
    assert.equal((await rawUpgrade(scope, server.url, as("2001:db8:1:2::a"))).status, 101);
    assert.equal((await rawUpgrade(scope, server.url, as("2001:db8:1:2::b"))).status, 429);
  }));

Deno.test("proxy: from an untrusted peer, forwarding headers are ignored", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: { H5_SESSION_RATE: "2" } });
    const as = (client: string) => ({ ...FORWARDED, "X-Forwarded-For": client });
    const first = await createSessionAs(server.url, as("198.51.100.1"));
    assert.equal(first.status, 201);
    assert.equal(first.body.uploadUrl, `${server.url}/api/uploads`);
    assert.equal((await createSessionAs(server.url, as("198.51.100.2"))).status, 201);
    assert.equal(
      (await createSessionAs(server.url, as("198.51.100.3"))).status,
      429,
      "a forged X-Forwarded-For does not buy a new budget",
    );
    const foreign = await createSessionAs(server.url, {
      ...FORWARDED,
      Origin: "https://uploads.example",
    });
    assert.equal(foreign.status, 403, "a forged X-Forwarded-Host does not make an origin ours");
  }));

Deno.test("proxy: H5_PUBLIC_URL pins the origin of Location and uploadUrl", () =>
  scoped(async (scope) => {
    const server = await startTestServer({
      scope,
      env: { H5_PUBLIC_URL: "https://files.example:8443/" },
    });
    const session = await createSessionAs(server.url, {});
    assert.equal(session.body.uploadUrl, "https://files.example:8443/api/uploads");
    const upload = await createUploadAs(server.url, session.body, {});
    assert.match(
      upload.headers.get("Location")!,
      /^https:\/\/files\.example:8443\/api\/uploads\//,
    );
  }));

const tools = await findProxyTools();

Deno.test({
  name: "proxy: through a real nginx terminating TLS" +
    ("missing" in tools ? ` (skipped: ${tools.missing})` : ""),
  ignore: "missing" in tools,
  fn: () =>
    scoped(async (scope) => {
      if ("missing" in tools) return;
      const trusted = await startTestServer({
        scope,
        env: { H5_TRUST_PROXY: "127.0.0.1", H5_SESSION_RATE: "2" },
      });
      const proxy = await startNginx(scope, tools.nginx, trusted.url);
      const as = (client: string) => ({ "X-Forwarded-For": client });
      const first = await createSessionAs(proxy.origin, as("198.51.100.1"), proxy.client);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.uploadUrl, `${proxy.origin}/api/uploads`);
      const upload = await createUploadAs(proxy.origin, first.body, {}, proxy.client);
      assert.equal(upload.status, 201);
      assert.ok(
        upload.headers.get("Location")!.startsWith(`${proxy.origin}/api/uploads/`),
        `Location ${upload.headers.get("Location")} is not on ${proxy.origin}`,
      );
      // Two clients behind the same proxy have their own budgets.
      assert.equal(
        (await createSessionAs(proxy.origin, as("198.51.100.1"), proxy.client)).status,
        201,
      );
      assert.equal(
        (await createSessionAs(proxy.origin, as("198.51.100.1"), proxy.client)).status,
        429,
      );
      assert.equal(
        (await createSessionAs(proxy.origin, as("198.51.100.2"), proxy.client)).status,
        201,
      );

      // The same proxy in front of a server that does not trust it: the headers count for
      // nothing, every client is the proxy, and the URLs are the internal http:// ones.
      const untrusting = await startTestServer({ scope, env: { H5_SESSION_RATE: "2" } });
      const plain = await startNginx(scope, tools.nginx, untrusting.url);
      const a = await createSessionAs(plain.origin, as("198.51.100.1"), plain.client);
      assert.equal(a.status, 201);
      assert.match(String(a.body.uploadUrl), /^http:\/\//);
      assert.equal(
        (await createSessionAs(plain.origin, as("198.51.100.2"), plain.client)).status,
        201,
      );
      assert.equal(
        (await createSessionAs(plain.origin, as("198.51.100.3"), plain.client)).status,
        429,
        "X-Forwarded-For from an untrusted peer must be ignored",
      );
    }),
});
