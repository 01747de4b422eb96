import assert from "node:assert/strict";
import { ConfigError, loadConfig, parseSize } from "./config.ts";

Deno.test("config - defaults need no environment", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8005);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.dataDir, "./data");
  assert.equal(config.sessionTimeoutMs, 30 * 60 * 1000);
  assert.equal(config.allowAnonymous, false);
  assert.equal(config.secret, null);
  assert.deepEqual(config.categories.personal.allowedTypes, ["image/*", "video/*"]);
});

Deno.test("config - sizes, lists and booleans parse", () => {
  assert.equal(parseSize("X", "2GiB"), 2 * 2 ** 30);
  assert.equal(parseSize("X", "500MB"), 500e6);
  assert.equal(parseSize("X", "1048576"), 1048576);
  const config = loadConfig({
    H5_ALLOWED_ORIGINS: "https://a.example, http://localhost:3000",
    H5_ALLOW_ANONYMOUS: "on",
    H5_MAX_FILE_SIZE: "1GiB",
    H5_SCENIC_MAX_FILE_SIZE: "4GiB",
    H5_SCENIC_ALLOWED_TYPES: "image/jpeg, video/*",
  });
  assert.deepEqual(config.allowedOrigins, ["https://a.example", "http://localhost:3000"]);
  assert.equal(config.allowAnonymous, true);
  assert.equal(config.categories.scenic.maxFileSize, 2 ** 30, "capped by the global limit");
  assert.deepEqual(config.categories.scenic.allowedTypes, ["image/jpeg", "video/*"]);
});

Deno.test("config - a bad value names its variable", () => {
  const cases: Record<string, string> = {
    PORT: "eighty",
    H5_MAX_FILE_SIZE: "lots",
    H5_PERSONAL_MAX_FILES: "-1",
    H5_ALLOWED_ORIGINS: "https://a.example/path",
    H5_ALLOW_ANONYMOUS: "maybe",
    H5_SESSION_TIMEOUT_MS: "10",
    H5_SCENIC_ALLOWED_TYPES: "not a type",
    H5_SECRET: "short",
    H5_SESSION_RATE: "0",
    H5_TRUST_PROXY: "10.0.0.0/33",
    H5_PUBLIC_URL: "https://uploads.example/path",
    H5_IDLE_TIMEOUT_MS: "soon",
    H5_MAX_CONNECTIONS_PER_IP: "0",
  };
  for (const [variable, value] of Object.entries(cases)) {
    assert.throws(() => loadConfig({ [variable]: value }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(
        e.message.includes(variable.startsWith("H5_SCENIC") ? "H5_SCENIC_ALLOWED_TYPES" : variable),
        e.message,
      );
      return true;
    });
  }
});

Deno.test("config - proxy, public URL and edge limits parse", () => {
  const defaults = loadConfig({});
  assert.equal(defaults.sessionRate, 60);
  assert.deepEqual(defaults.trustProxy, []);
  assert.equal(defaults.publicUrl, null);
  assert.equal(defaults.idleTimeoutMs, 60_000);
  assert.equal(defaults.maxConnectionsPerIp, 64);
  const config = loadConfig({
    H5_TRUST_PROXY: "loopback, 10.0.0.0/8, fd00::1",
    H5_PUBLIC_URL: "https://uploads.example/",
    H5_SESSION_RATE: "5",
  });
  assert.equal(config.trustProxy.length, 4, "loopback is 127.0.0.0/8 and ::1");
  assert.equal(config.publicUrl, "https://uploads.example");
  assert.equal(config.sessionRate, 5);
});

Deno.test("config - the server refuses to start on a bad value and says which", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname],
    env: { PORT: "99999", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /Cannot start h5-uploader: Invalid PORT="99999"/,
  );
});

Deno.test("config - H5_MAX_SOCKETS_PER_IP: default 16, a positive integer", () => {
  assert.equal(loadConfig({}).maxSocketsPerIp, 16);
  assert.equal(loadConfig({ H5_MAX_SOCKETS_PER_IP: "200" }).maxSocketsPerIp, 200);
  for (const value of ["0", "-3", "many"]) {
    assert.throws(
      () => loadConfig({ H5_MAX_SOCKETS_PER_IP: value }),
      (e: unknown) => e instanceof ConfigError && e.message.includes("H5_MAX_SOCKETS_PER_IP"),
    );
  }
});
