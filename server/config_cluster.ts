/**
 * The clustered mode's variables: Redis (state, locks, rate limits, stop requests, rooms),
 * S3-compatible storage, and the node's name. Each is validated here so a node that would
 * not work with the others stops at start, in one line naming the variable.
 */
import { ConfigError, httpUrl } from "./config_error.ts";

export interface RedisConfig {
  /** redis:// or rediss:// (TLS), as given. */
  url: string;
}

export interface S3Config {
  bucket: string;
  /** null: AWS S3 itself (the SDK derives the endpoint from the region). */
  endpoint: string | null;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`. */
  forcePathStyle: boolean;
}

export interface ClusterConfig {
  redis: RedisConfig | null;
  s3: S3Config | null;
  nodeId: string;
}

export const CLUSTER_DEFAULTS = {
  H5_REDIS_URL: "",
  H5_S3_BUCKET: "",
  H5_S3_ENDPOINT: "",
  H5_S3_REGION: "us-east-1",
  H5_S3_ACCESS_KEY_ID: "",
  H5_S3_SECRET_ACCESS_KEY: "",
  /** Empty: true when H5_S3_ENDPOINT is set (MinIO, Ceph, s3rver), false for AWS. */
  H5_S3_FORCE_PATH_STYLE: "",
  /** Empty: `<hostname>-<pid>`. */
  H5_NODE_ID: "",
} as const;

type Name = keyof typeof CLUSTER_DEFAULTS;
const S3_NAMES = Object.keys(CLUSTER_DEFAULTS).filter((n) => n.startsWith("H5_S3_")) as Name[];

/** A URL with its password replaced, so an error line never prints a credential. */
function masked(text: string): string {
  return text.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

function parseRedisUrl(value: string): RedisConfig | null {
  const text = value.trim();
  if (!text) return null;
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  const db = url?.pathname.replace(/^\//, "") ?? "";
  if (
    !url || !/^rediss?:$/.test(url.protocol) || !url.hostname || !/^\d*$/.test(db) ||
    url.search || url.hash
  ) {
    throw new ConfigError(
      "H5_REDIS_URL",
      masked(value),
      "a URL like redis://host:6379 or rediss://user:password@host:6380/0",
    );
  }
  return { url: text };
}

function parseEndpoint(value: string): string | null {
  const parsed = httpUrl(value);
  if (parsed === null) return null;
  if (!parsed || parsed.url.search || parsed.url.hash || parsed.url.username) {
    throw new ConfigError(
      "H5_S3_ENDPOINT",
      value,
      "an http(s) URL like https://s3.example or http://127.0.0.1:9000",
    );
  }
  return parsed.text;
}

function parseFlag(variable: Name, value: string, fallback: boolean): boolean {
  const v = value.trim().toLowerCase();
  if (v === "") return fallback;
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(variable, value, "true or false");
}

function parseS3(
  env: Record<string, string | undefined>,
  get: (n: Name) => string,
): S3Config | null {
  const bucket = get("H5_S3_BUCKET").trim();
  if (!bucket) {
    // A half-configured S3 would silently keep files on local disk: say what is missing.
    const stray = S3_NAMES.find((n) => n !== "H5_S3_BUCKET" && env[n]?.trim());
    if (stray) throw new ConfigError("H5_S3_BUCKET", null, `${stray} is set without a bucket`);
    return null;
  }
  // S3's bucket naming rules (the subset every S3-compatible store accepts).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
    throw new ConfigError(
      "H5_S3_BUCKET",
      bucket,
      "3 to 63 lowercase letters, digits, dots and hyphens",
    );
  }
  const endpoint = parseEndpoint(get("H5_S3_ENDPOINT"));
  const region = get("H5_S3_REGION").trim();
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    throw new ConfigError("H5_S3_REGION", region, "a region like us-east-1 (R2: auto)");
  }
  const accessKeyId = get("H5_S3_ACCESS_KEY_ID").trim();
  const secretAccessKey = get("H5_S3_SECRET_ACCESS_KEY").trim();
  if (!accessKeyId) {
    throw new ConfigError("H5_S3_ACCESS_KEY_ID", null, "H5_S3_BUCKET needs its access key");
  }
  if (!secretAccessKey) {
    throw new ConfigError("H5_S3_SECRET_ACCESS_KEY", null, "H5_S3_BUCKET needs its secret key");
  }
  return {
    bucket,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: parseFlag(
      "H5_S3_FORCE_PATH_STYLE",
      get("H5_S3_FORCE_PATH_STYLE"),
      endpoint !== null,
    ),
  };
}

function defaultNodeId(): string {
  let host = "node";
  try {
    host = Deno.hostname();
  } catch {
    // Without --allow-sys=hostname (deno task serve grants it) the pid alone still differs
    // between the processes of one machine.
  }
  return `${host}-${Deno.pid}`;
}

/** Reads the clustered mode's variables; `secret` is H5_SECRET (null when unset). */
export function loadClusterConfig(
  env: Record<string, string | undefined>,
  secret: string | null,
): ClusterConfig {
  const get = (name: Name): string => env[name] ?? CLUSTER_DEFAULTS[name];
  const redis = parseRedisUrl(get("H5_REDIS_URL"));
  if (redis && secret === null) {
    // A generated secret lives in one node's data folder: the others would refuse its tokens.
    throw new ConfigError(
      "H5_SECRET",
      null,
      "required when H5_REDIS_URL is set (every node must accept every token); " +
        "give every node the same value of at least 16 characters",
    );
  }
  const nodeId = get("H5_NODE_ID").trim() || defaultNodeId();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(nodeId)) {
    throw new ConfigError("H5_NODE_ID", nodeId, "letters, digits, '.', '_', ':' or '-'");
  }
  return { redis, s3: parseS3(env, get), nodeId };
}
