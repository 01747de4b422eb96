/** The Debian-packaged servers the clustered mode runs next to the nodes, or how to get them. */

export type Found = { path: string } | { missing: string };

async function find(name: string, paths: string[], apt: string): Promise<Found> {
  for (const path of paths) {
    try {
      if ((await Deno.stat(path)).isFile) return { path };
    } catch { /* try the next */ }
  }
  return { missing: `${name} is not installed (apt-get install -y ${apt})` };
}

export function findRedisServer(): Promise<Found> {
  return find(
    "redis-server",
    ["/usr/bin/redis-server", "/usr/local/bin/redis-server"],
    "redis-server",
  );
}

export function findNginx(): Promise<Found> {
  return find("nginx", ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"], "nginx");
}
