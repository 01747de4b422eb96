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

Deno.test("config - the clustered mode is off by default; a node has a name", () => {
  const config = loadConfig({});
  assert.equal(config.redis, null);
  assert.equal(config.s3, null);
  assert.equal(config.nodeId, `${Deno.hostname()}-${Deno.pid}`);
  assert.equal(loadConfig({ H5_NODE_ID: "node-b" }).nodeId, "node-b");
});

const SECRET = "0123456789abcdef0123";
const S3 = {
  H5_S3_BUCKET: "h5-uploads",
  H5_S3_ACCESS_KEY_ID: "AKIA0000",
  H5_S3_SECRET_ACCESS_KEY: "s3cr3t",
};

Deno.test("config - H5_REDIS_URL and H5_S3_* parse into typed fields", () => {
  const redis = loadConfig({
    H5_REDIS_URL: "rediss://u:p@cache.example:6380/2",
    H5_SECRET: SECRET,
  });
  assert.deepEqual(redis.redis, { url: "rediss://u:p@cache.example:6380/2" });
  const aws = loadConfig(S3);
  assert.deepEqual(aws.s3, {
    bucket: "h5-uploads",
    endpoint: null,
    region: "us-east-1",
    accessKeyId: "AKIA0000",
    secretAccessKey: "s3cr3t",
    forcePathStyle: false,
  });
  const minio = loadConfig({
    ...S3,
    H5_S3_ENDPOINT: "http://127.0.0.1:9000/",
    H5_S3_REGION: "auto",
  });
  assert.equal(minio.s3?.endpoint, "http://127.0.0.1:9000");
  assert.equal(minio.s3?.region, "auto");
  assert.equal(minio.s3?.forcePathStyle, true, "default true when an endpoint is set");
  const virtual = loadConfig({
    ...S3,
    H5_S3_ENDPOINT: "https://s3.example",
    H5_S3_FORCE_PATH_STYLE: "false",
  });
  assert.equal(virtual.s3?.forcePathStyle, false);
});

/** The ConfigError of `env`, which must be one line naming `variable`. */
function refusal(env: Record<string, string>, variable: string): string {
  try {
    loadConfig(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.ok(e.message.includes(variable), `${e.message} does not name ${variable}`);
    assert.ok(!e.message.includes("\n"), e.message);
    return e.message;
  }
  assert.fail(`${JSON.stringify(env)} was accepted`);
}

Deno.test("config - H5_REDIS_URL needs H5_SECRET, a redis URL, and hides its password", () => {
  const message = refusal({ H5_REDIS_URL: "redis://127.0.0.1:6379" }, "H5_SECRET");
  assert.match(message, /^Missing H5_SECRET: required when H5_REDIS_URL is set/);
  for (const url of ["http://127.0.0.1:6379", "redis://", "redis://h:6379/x", "6379"]) {
    refusal({ H5_REDIS_URL: url, H5_SECRET: SECRET }, "H5_REDIS_URL");
  }
  const hidden = refusal(
    { H5_REDIS_URL: "redis://user:hunter2@h:6379/x", H5_SECRET: SECRET },
    "H5_REDIS_URL",
  );
  assert.ok(!hidden.includes("hunter2"), hidden);
});

Deno.test("config - an incomplete or bad S3 configuration names what is missing", () => {
  assert.match(refusal({ H5_S3_BUCKET: "h5-uploads" }, "H5_S3_ACCESS_KEY_ID"), /^Missing/);
  refusal({ H5_S3_BUCKET: "h5-uploads", H5_S3_ACCESS_KEY_ID: "k" }, "H5_S3_SECRET_ACCESS_KEY");
  assert.match(
    refusal({ H5_S3_ENDPOINT: "http://127.0.0.1:9000" }, "H5_S3_BUCKET"),
    /H5_S3_ENDPOINT is set without a bucket/,
  );
  refusal({ H5_S3_ACCESS_KEY_ID: "k", H5_S3_SECRET_ACCESS_KEY: "s" }, "H5_S3_BUCKET");
  refusal({ ...S3, H5_S3_BUCKET: "Upper_Case" }, "H5_S3_BUCKET");
  refusal({ ...S3, H5_S3_ENDPOINT: "ftp://s3.example" }, "H5_S3_ENDPOINT");
  refusal({ ...S3, H5_S3_ENDPOINT: "not a url" }, "H5_S3_ENDPOINT");
  refusal({ ...S3, H5_S3_REGION: "US East" }, "H5_S3_REGION");
  refusal({ ...S3, H5_S3_FORCE_PATH_STYLE: "sometimes" }, "H5_S3_FORCE_PATH_STYLE");
  refusal({ H5_NODE_ID: "a node" }, "H5_NODE_ID");
});
