/**
 * `deno task cluster`: the clustered mode on one machine. redis-server and nginx (Debian
 * packages), s3rver (npm; for local use only, production uses AWS S3, MinIO, R2, Ceph...),
 * three nodes running the `deno task serve` entry, nginx balancing them on H5_CLUSTER_PORT
 * (default 8080). Data under H5_CLUSTER_DIR (default data/cluster/) survives a restart;
 * Ctrl-C (SIGINT) or SIGTERM stops every process it started and removes its temp folder.
 */
import { findNginx, findRedisServer } from "../services/binaries.ts";
import { startBalancer } from "../services/balancer.ts";
import { startRedisServer } from "../services/redis.ts";
import { S3RVER_CREDENTIALS, startS3rverProcess } from "../services/s3rver.ts";
import { Scope } from "../services/scope.ts";
import { taskSteps } from "../services/task.ts";
import { clusterOptions, REPO, sharedSecret } from "./options.ts";
import { startNode } from "./node.ts";

const BUCKET = "h5-uploads";
const scope = new Scope();
const stop = Promise.withResolvers<string>();
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop.resolve(signal));
}

class Stopped extends Error {}

/** `step`, unless a stop arrives first (a Ctrl-C while the cluster is still starting). */
async function step<T>(work: Promise<T>): Promise<T> {
  return await Promise.race([work, stop.promise.then((s) => Promise.reject(new Stopped(s)))]);
}

function part(name: string, url: string, pid: string, where: string): void {
  console.log(`${name.padEnd(12)} ${url.padEnd(26)} pid ${pid.padEnd(16)} ${where}`);
}

async function start(): Promise<string> {
  const options = clusterOptions(Deno.env.toObject());
  const redis = await findRedisServer();
  if ("missing" in redis) throw new Error(redis.missing);
  const nginx = await findNginx();
  if ("missing" in nginx) throw new Error(nginx.missing);
  const { dir } = options;
  // nginx is ready when its port accepts: a port someone else holds would look ready.
  try {
    Deno.listen({ hostname: "127.0.0.1", port: options.port }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    throw new Error(`H5_CLUSTER_PORT=${options.port} is already in use on 127.0.0.1`);
  }
  const logs = `${dir}/logs`;
  for (const sub of ["redis", "s3", "logs"]) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
  const secret = await sharedSecret(dir);
  const runtime = await Deno.makeTempDir({ prefix: "h5-cluster-" });
  scope.defer("remove the nginx folder", () => Deno.remove(runtime, { recursive: true }));

  // The serve task's earlier steps (the widget build) once, then its last step per node.
  const steps = await taskSteps("serve");
  for (const args of steps.slice(0, -1)) {
    const out = await step(
      new Deno.Command(Deno.execPath(), { args, cwd: REPO, stdin: "null" }).output(),
    );
    if (!out.success) {
      throw new Error(`deno ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  }

  const store = await step(startRedisServer(scope, {
    path: redis.path,
    dir: `${dir}/redis`,
    persist: true,
    log: `${logs}/redis.log`,
  }));
  part("redis-server", store.url, String(store.pid), `data ${dir}/redis`);
  const s3 = await step(startS3rverProcess(scope, { dir: `${dir}/s3`, log: `${logs}/s3rver.log` }));
  part("s3rver", s3.url, String(s3.pid), `data ${dir}/s3 (bucket ${BUCKET})`);

  const publicUrl = `http://127.0.0.1:${options.port}`;
  const nodes = await step(Promise.all(
    Array.from({ length: options.nodes }, (_, i) =>
      startNode(scope, {
        name: `node-${i + 1}`,
        dataDir: `${dir}/node-${i + 1}`,
        log: `${logs}/node-${i + 1}.log`,
        serve: steps.at(-1)!,
        env: {
          redisUrl: store.url,
          s3Endpoint: s3.url,
          s3Bucket: BUCKET,
          s3AccessKeyId: S3RVER_CREDENTIALS.accessKeyId,
          s3SecretAccessKey: S3RVER_CREDENTIALS.secretAccessKey,
          secret,
          publicUrl,
        },
      })),
  ));
  for (const node of nodes) {
    const pid = `${node.pid}/${node.serverPid ?? "?"}`;
    part(node.name, node.url, pid, `data ${node.dataDir}`);
  }

  const balancer = await step(startBalancer(scope, {
    path: nginx.path,
    dir: runtime,
    upstreams: nodes.map((n) => new URL(n.url).host),
    port: options.port,
    errorLog: `${logs}/nginx-error.log`,
  }));
  part("nginx", balancer.url, String(balancer.pid), `config ${runtime}/nginx.conf`);

  // A part that dies on its own leaves no working cluster: say which, and stop the rest.
  const parts = [["redis-server", store], ["s3rver", s3], ["nginx", balancer]] as const;
  for (const [name, managed] of [...parts, ...nodes.map((n) => [n.name, n] as const)]) {
    managed.status.then((s) => {
      if (stopping) return;
      console.error(`${name} exited (code ${s.code}); its log is in ${logs}`);
      stop.resolve(`${name} exited`);
    });
  }
  console.log(`cluster ready: ${publicUrl} (logs in ${logs}; Ctrl-C stops everything)`);
  return publicUrl;
}

let code = 0;
let started = false;
try {
  await start();
  started = true;
  const why = await stop.promise;
  if (why !== "SIGINT" && why !== "SIGTERM") code = 1;
} catch (error) {
  if (!(error instanceof Stopped)) {
    console.error(`Cannot start the cluster: ${error instanceof Error ? error.message : error}`);
    code = 2;
  }
}
stopping = true;
if (started) console.log("stopping the cluster...");
const failures = await scope.close();
for (const failure of failures) {
  console.error(`${failure.what} failed: ${String(failure.error)}`);
  code ||= 1;
}
if (started && code === 0) console.log("cluster stopped");
Deno.exit(code);
