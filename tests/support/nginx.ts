/**
 * A real nginx terminating TLS in front of a test server: config and a throwaway
 * self-signed certificate in a temp folder, nginx run as a child (`daemon off`), stopped
 * and reaped by the scope. nginx is a Debian package (.ci/run installs it when missing).
 */
import { within } from "./deadline.ts";
import type { Scope } from "./scope.ts";
import { freePort } from "./server.ts";
import { nginxChild } from "../../tools/services/balancer.ts";

const NGINX_PATHS = ["/usr/sbin/nginx", "/usr/bin/nginx"];

async function executable(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** The nginx and openssl binaries, or why a proxy test cannot run here. */
export async function findProxyTools(): Promise<{ nginx: string } | { missing: string }> {
  let nginx: string | undefined;
  for (const path of NGINX_PATHS) if (await executable(path)) nginx ??= path;
  if (!nginx) return { missing: "nginx is not installed (apt-get install -y nginx)" };
  if (!(await executable("/usr/bin/openssl"))) return { missing: "openssl is not installed" };
  return { nginx };
}

export interface Proxy {
  /** e.g. https://localhost:41234: the public origin clients use. */
  origin: string;
  /** A fetch client that trusts the proxy's throwaway certificate. */
  client: Deno.HttpClient;
}

async function run(command: string, args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${what} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

export async function startNginx(scope: Scope, nginx: string, upstream: string): Promise<Proxy> {
  const dir = await Deno.makeTempDir({ prefix: "h5-nginx-" });
  scope.defer("remove the nginx folder", () => Deno.remove(dir, { recursive: true }));
  // rustls (Deno's TLS) refuses a self-signed leaf: a throwaway CA signs the certificate.
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("/usr/bin/openssl", [
    "req",
    "-x509",
    ...ec,
    "-days",
    "1",
    "-subj",
    "/CN=h5 test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
  ], "openssl (a throwaway CA)");
  await run("/usr/bin/openssl", [
    "req",
    ...ec,
    "-subj",
    "/CN=localhost",
    "-keyout",
    `${dir}/key.pem`,
    "-out",
    `${dir}/leaf.csr`,
  ], "openssl (a certificate request)");
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await run("/usr/bin/openssl", [
    "x509",
    "-req",
    "-in",
    `${dir}/leaf.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    `${dir}/leaf.ext`,
    "-out",
    `${dir}/cert.pem`,
  ], "openssl (signing the certificate)");
  const port = freePort();
  const upstreamHost = new URL(upstream).host;
  // What a TLS-terminating deployment sets: the client chain, the scheme and the public host.
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `${nginxChild(dir, `${dir}/error.log`, 64)}
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_pass http://${upstreamHost};
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  const child = new Deno.Command(nginx, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stderr = new Response(child.stderr).text();
  scope.defer("stop nginx", async () => {
    if (!exited) child.kill("SIGTERM");
    await within(status, "nginx to stop");
    await stderr;
  });

  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/ca.pem`)] });
  scope.defer("close the proxy's fetch client", () => client.close());
  // nginx prints nothing when ready: its port accepting is the signal. Each attempt is a
  // connection refused or accepted, not a sleep.
  await within(
    (async () => {
      for (;;) {
        if (exited) {
          throw new Error(`nginx exited: ${await stderr} ${await errorLog(dir)}`);
        }
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })(),
    "nginx to listen",
  );
  return { origin: `https://localhost:${port}`, client };
}

async function errorLog(dir: string): Promise<string> {
  return await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
}
