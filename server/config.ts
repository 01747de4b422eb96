import { CATEGORIES, type Category, SESSION_TIMEOUT_MS } from "../protocol/events.ts";
import type { CategoryLimits } from "../protocol/session.ts";
import { type Cidr, LOOPBACK, parseCidr } from "./http/ip.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig, loadClusterConfig } from "./config_cluster.ts";
import { ConfigError, httpUrl } from "./config_error.ts";

export { ConfigError };
export type { RedisConfig, S3Config } from "./config_cluster.ts";

/** ClusterConfig: `redis`, `s3` (null: embedded SQLite / local disk) and `nodeId`. */
export interface Config extends ClusterConfig {
  port: number;
  host: string;
  dataDir: string;
  /** null: generated once and kept in `<dataDir>/secret`. */
  secret: string | null;
  allowedOrigins: string[];
  maxFileSize: number;
  categories: Record<Category, CategoryLimits>;
  sessionTimeoutMs: number;
  allowAnonymous: boolean;
  /** Server-side budget of automatic retries reported in `upload-failed`. */
  maxRetries: number;
  tokenTtlMs: number;
  /** Socket.IO handshakes per client address, and events per socket, per second. */
  socketRate: number;
  /** How long a request waits for an upload (or session) another request holds: then 423. */
  lockTimeoutMs: number;
  /**
   * How long a lock outlives a holder that stopped renewing it (a node that died); held locks
   * are renewed every third of it.
   */
  lockLeaseMs: number;
  /** Public WebSockets open at once per client address. */
  maxSocketsPerIp: number;
  /** How long ended sessions (and ended anonymous uploads) keep their records. */
  sessionRetentionMs: number;
  /** Session creations per client address per minute. */
  sessionRate: number;
  /** Peers whose Forwarded / X-Forwarded-* headers are believed (empty: none). */
  trustProxy: Cidr[];
  /** The pinned public origin (Location, uploadUrl, same-origin), or null. */
  publicUrl: string | null;
  /** Header read and request-body idle timeout. */
  idleTimeoutMs: number;
  maxConnectionsPerIp: number;
}

const MEDIA_TYPES = ["image/*", "video/*"];

/** Every variable, its default, and what it means: the README's configuration table. */
export const DEFAULTS = {
  PORT: "8005",
  HOST: "0.0.0.0",
  H5_DATA_DIR: "./data",
  H5_ALLOWED_ORIGINS: "",
  H5_MAX_FILE_SIZE: "8GiB",
  H5_PERSONAL_MAX_FILE_SIZE: "2GiB",
  H5_PERSONAL_MAX_FILES: "20",
  H5_PERSONAL_ALLOWED_TYPES: MEDIA_TYPES.join(","),
  H5_SCENIC_MAX_FILE_SIZE: "8GiB",
  H5_SCENIC_MAX_FILES: "100",
  H5_SCENIC_ALLOWED_TYPES: MEDIA_TYPES.join(","),
  H5_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
  H5_ALLOW_ANONYMOUS: "false",
  H5_MAX_RETRIES: "5",
  H5_TOKEN_TTL_MS: String(24 * 60 * 60 * 1000),
  /** Socket.IO handshakes per client address, and events per socket, per second. */
  H5_SOCKET_RATE: "30",
  /** Wait for an upload another request holds, then 423 UPLOAD_LOCKED with Retry-After. */
  H5_LOCK_TIMEOUT_MS: "10000",
  /** Lease of an upload's or session's lock: a dead holder's lock is free after it. */
  H5_LOCK_LEASE_MS: "10000",
  /** Public WebSockets open at once per client address (each may hold one whole message). */
  H5_MAX_SOCKETS_PER_IP: "16",
  /** Ended sessions and their upload records are deleted this long after they end. */
  H5_SESSION_RETENTION_MS: String(24 * 60 * 60 * 1000),
  H5_SESSION_RATE: "60",
  H5_TRUST_PROXY: "",
  H5_PUBLIC_URL: "",
  H5_IDLE_TIMEOUT_MS: "60000",
  H5_MAX_CONNECTIONS_PER_IP: "64",
  /** H5_REDIS_URL, H5_S3_* and H5_NODE_ID: the clustered mode (server/config_cluster.ts). */
  ...CLUSTER_DEFAULTS,
} as const;

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "1.5GiB", "500MB", "1048576" -> bytes. */
export function parseSize(variable: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new ConfigError(variable, value, "a size such as 1048576, 500MB or 2GiB");
  }
  const bytes = Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ConfigError(variable, value, "a positive size");
  }
  return bytes;
}

function parseInteger(variable: string, value: string, min: number, max = 2 ** 31): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(variable, value, `an integer from ${min} to ${max}`);
  }
  return n;
}

function parseBoolean(variable: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off", ""].includes(v)) return false;
  throw new ConfigError(variable, value, "true or false");
}

function parseOrigins(variable: string, value: string): string[] {
  const origins = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const origin of origins) {
    if (origin === "*") continue;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError(variable, value, "a comma list of origins like https://shop.example");
    }
    if (parsed.origin !== origin.replace(/\/$/, "")) {
      throw new ConfigError(variable, origin, "an origin without path (https://host[:port])");
    }
  }
  return origins.map((o) => o.replace(/\/$/, ""));
}

function parseTypes(variable: string, value: string): string[] {
  const types = value.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const type of types) {
    if (type !== "*/*" && !/^[a-z0-9.+-]+\/(\*|[a-z0-9.+-]+)$/.test(type)) {
      throw new ConfigError(variable, type, "MIME types or patterns like image/*, video/mp4");
    }
  }
  if (types.length === 0) throw new ConfigError(variable, value, "at least one MIME type");
  return types;
}

function parseTrustProxy(variable: string, value: string): Cidr[] {
  const ranges: Cidr[] = [];
  for (const entry of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (entry.toLowerCase() === "loopback") {
      ranges.push(...LOOPBACK);
      continue;
    }
    const range = parseCidr(entry);
    if (!range) {
      throw new ConfigError(variable, entry, "loopback, an IP address or a CIDR like 10.0.0.0/8");
    }
    ranges.push(range);
  }
  return ranges;
}

function parsePublicUrl(variable: string, value: string): string | null {
  const parsed = httpUrl(value);
  if (parsed === null) return null;
  if (!parsed || parsed.url.origin !== parsed.text) {
    throw new ConfigError(variable, value, "an origin like https://uploads.example (no path)");
  }
  return parsed.url.origin;
}

/** Reads the configuration from an environment map; throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const get = (name: keyof typeof DEFAULTS): string => env[name] ?? DEFAULTS[name];
  const maxFileSize = parseSize("H5_MAX_FILE_SIZE", get("H5_MAX_FILE_SIZE"));
  const category = (c: Category): CategoryLimits => {
    const prefix = `H5_${c.toUpperCase()}_` as "H5_PERSONAL_" | "H5_SCENIC_";
    const size = parseSize(`${prefix}MAX_FILE_SIZE`, get(`${prefix}MAX_FILE_SIZE`));
    return {
      maxFileSize: Math.min(size, maxFileSize),
      maxFiles: parseInteger(`${prefix}MAX_FILES`, get(`${prefix}MAX_FILES`), 1, 100_000),
      allowedTypes: parseTypes(`${prefix}ALLOWED_TYPES`, get(`${prefix}ALLOWED_TYPES`)),
    };
  };
  const host = get("HOST").trim();
  if (!host) throw new ConfigError("HOST", get("HOST"), "a host name or address");
  const secret = env.H5_SECRET ?? null;
  if (secret !== null && secret.length < 16) {
    throw new ConfigError("H5_SECRET", "<hidden>", "at least 16 characters");
  }
  const dataDir = get("H5_DATA_DIR").trim();
  if (!dataDir) throw new ConfigError("H5_DATA_DIR", get("H5_DATA_DIR"), "a folder path");
  return {
    port: parseInteger("PORT", get("PORT"), 0, 65535),
    host,
    dataDir,
    secret,
    allowedOrigins: parseOrigins("H5_ALLOWED_ORIGINS", get("H5_ALLOWED_ORIGINS")),
    maxFileSize,
    categories: Object.fromEntries(CATEGORIES.map((c) => [c, category(c)])) as Record<
      Category,
      CategoryLimits
    >,
    sessionTimeoutMs: parseInteger(
      "H5_SESSION_TIMEOUT_MS",
      get("H5_SESSION_TIMEOUT_MS"),
      1000,
      7 * 24 * 3600 * 1000,
    ),
    allowAnonymous: parseBoolean("H5_ALLOW_ANONYMOUS", get("H5_ALLOW_ANONYMOUS")),
    maxRetries: parseInteger("H5_MAX_RETRIES", get("H5_MAX_RETRIES"), 0, 100),
    tokenTtlMs: parseInteger("H5_TOKEN_TTL_MS", get("H5_TOKEN_TTL_MS"), 60_000, 2 ** 40),
    socketRate: parseInteger("H5_SOCKET_RATE", get("H5_SOCKET_RATE"), 1, 1_000_000),
    lockTimeoutMs: parseInteger("H5_LOCK_TIMEOUT_MS", get("H5_LOCK_TIMEOUT_MS"), 10, 600_000),
    lockLeaseMs: parseInteger("H5_LOCK_LEASE_MS", get("H5_LOCK_LEASE_MS"), 30, 600_000),
    maxSocketsPerIp: parseInteger(
      "H5_MAX_SOCKETS_PER_IP",
      get("H5_MAX_SOCKETS_PER_IP"),
      1,
      1_000_000,
    ),
    sessionRetentionMs: parseInteger(
      "H5_SESSION_RETENTION_MS",
      get("H5_SESSION_RETENTION_MS"),
      0,
      365 * 24 * 3600 * 1000,
    ),
    sessionRate: parseInteger("H5_SESSION_RATE", get("H5_SESSION_RATE"), 1, 1_000_000),
    trustProxy: parseTrustProxy("H5_TRUST_PROXY", get("H5_TRUST_PROXY")),
    publicUrl: parsePublicUrl("H5_PUBLIC_URL", get("H5_PUBLIC_URL")),
    idleTimeoutMs: parseInteger("H5_IDLE_TIMEOUT_MS", get("H5_IDLE_TIMEOUT_MS"), 50, 86_400_000),
    maxConnectionsPerIp: parseInteger(
      "H5_MAX_CONNECTIONS_PER_IP",
      get("H5_MAX_CONNECTIONS_PER_IP"),
      1,
      1_000_000,
    ),
    ...loadClusterConfig(env, secret),
  };
}
