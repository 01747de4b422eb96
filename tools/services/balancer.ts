/**
 * nginx (Debian package) as the load balancer in front of several nodes, run as a child
 * (`daemon off`, one process) with its own prefix, temp paths, pid and error log in `dir`.
 * The configuration is what the README's production section recommends.
 */
import { type Managed, startManaged } from "./process.ts";
import { freePort, waitForPort } from "./ports.ts";
import type { Scope } from "./scope.ts";

export interface BalancerOptions {
  /** The nginx binary (see binaries.ts). */
  path: string;
  /** Its prefix: configuration, pid, temp folders. Made by the caller, removed by it. */
  dir: string;
  /** The nodes' `host:port`. */
  upstreams: string[];
  port?: number;
  /** Where nginx writes its errors (default `<dir>/error.log`). */
  errorLog?: string;
  /**
   * "sticky" (default): `ip_hash`, as production wants for Socket.IO's long-polling.
   * "round-robin": each request to the next node; tests whose clients are all 127.0.0.1 use
   * it to spread requests (WebSocket-only watchers need no stickiness).
   */
  balance?: Balance;
}

export type Balance = "sticky" | "round-robin";

export interface RunningBalancer extends Managed {
  port: number;
  url: string;
}

/** The nginx.conf of a balancer listening on 127.0.0.1:`port`. */
export function balancerConf(
  options: { dir: string; upstreams: string[]; port: number; errorLog: string; balance?: Balance },
): string {
  const { dir } = options;
  const sticky = options.balance !== "round-robin";
  // proxy_set_header is inherited only by a block that sets none itself: both locations
  // repeat the forwarding headers (H5_TRUST_PROXY believes them from this address).
  const forwarded = `proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;`;
  return `${nginxChild(dir, options.errorLog, 4096)}
  map $http_upgrade $connection_upgrade { default upgrade; "" ""; }
  upstream h5_nodes {
    # Sticky by client address. Only Socket.IO's long-polling needs it: the requests of one
    # polling session must reach the node that holds it. WebSockets stay on the node that
    # took the upgrade, and every tus or API request may go to any node once the nodes share
    # Redis and S3. On one machine every client is 127.0.0.1, so one node takes them all.
    ${sticky ? "ip_hash;" : "# round-robin: requests spread over the nodes (no polling)"}
${options.upstreams.map((u) => `    server ${u};`).join("\n")}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${options.port};
    # tus bodies can be any size: the node enforces H5_MAX_FILE_SIZE and Upload-Length.
    client_max_body_size 0;
    proxy_http_version 1.1;
    location /socket.io/ {
      proxy_pass http://h5_nodes;
      ${forwarded}
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
    }
    location / {
      proxy_pass http://h5_nodes;
      ${forwarded}
      proxy_set_header Connection "";
      # Stream PATCH bodies to the node as they arrive (progress and durable offsets are the
      # node's) and downloads back; buffering would hold whole files in nginx's temp folder.
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`;
}

export async function startBalancer(
  scope: Scope,
  options: BalancerOptions,
): Promise<RunningBalancer> {
  const port = options.port ?? freePort();
  const errorLog = options.errorLog ?? `${options.dir}/error.log`;
  const conf = `${options.dir}/nginx.conf`;
  await Deno.writeTextFile(conf, balancerConf({ ...options, port, errorLog }));
  const process = await startManaged(scope, "nginx", options.path, {
    args: ["-p", options.dir, "-c", conf, "-e", errorLog],
  });
  // nginx prints nothing when ready: its port accepting is the signal.
  await waitForPort(port, "nginx", () => {
    const exit = process.exited();
    return exit ? `code ${exit.code}: ${process.output()}` : null;
  });
  return { ...process, port, url: `http://127.0.0.1:${port}` };
}

/**
 * The start of an nginx.conf for an nginx run as a child (no daemon, one process): every
 * path it writes (pid, temp bodies) inside `dir`, so it needs no root and leaves nothing
 * behind. Opens the `http {` block, which the caller closes.
 */
export function nginxChild(dir: string, errorLog: string, connections: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${errorLog} warn;
events { worker_connections ${connections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;`;
}
