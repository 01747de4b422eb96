/**
 * `deno task serve`: starts server/main.ts with write permission narrowed to the data
 * folder, whichever folder H5_DATA_DIR names. A task line cannot read the environment
 * (deno task has no `${VAR:-default}`), so this tiny launcher does, then runs the server
 * as its child with `--allow-write=<that folder>` and passes signals and the exit code on.
 */
import { isAbsolute, resolve } from "node:path";
import { ConfigError, DEFAULTS } from "./config.ts";

const variable = "H5_DATA_DIR";
const value = Deno.env.get(variable)?.trim() || DEFAULTS.H5_DATA_DIR;
const dataDir = isAbsolute(value) ? value : resolve(Deno.cwd(), value);
if (dataDir.includes(",")) {
  // Deno's permission flags are comma-separated lists: such a path cannot be granted alone.
  const error = new ConfigError(variable, value, "a folder path without a comma");
  console.error(`Cannot start h5-uploader: ${error.message}`);
  Deno.exit(2);
}

const main = new URL("./main.ts", import.meta.url);
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    // H5_NODE_ID's default is `<hostname>-<pid>`; the S3 client's user agent names the OS
    // release (@aws-sdk/client-s3 asks at its first request).
    "--allow-sys=hostname,osRelease",
    `--allow-write=${dataDir}`,
    main.pathname,
  ],
  env: { [variable]: dataDir },
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    try {
      child.kill(signal);
    } catch {
      // It has exited already.
    }
  });
}
const status = await child.status;
Deno.exit(status.code);
