/**
 * The data folder must exist and take writes before anything else starts: otherwise the
 * first failure is a stack trace from deep inside SQLite or the secret file (and under a
 * narrowed `--allow-write`, a NotCapable one).
 */
import { ConfigError } from "./config.ts";

/** Creates `dir` if needed and proves it writable; a ConfigError naming H5_DATA_DIR if not. */
export async function prepareDataDir(dir: string): Promise<void> {
  const refuse = (why: string) => new ConfigError("H5_DATA_DIR", dir, `a writable folder (${why})`);
  try {
    await Deno.mkdir(dir, { recursive: true });
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw refuse("it is not a folder");
    const probe = `${dir}/.write-probe-${crypto.randomUUID()}`;
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (error instanceof Deno.errors.NotCapable) {
      // e.g. started with a narrower --allow-write, or a path Deno guards (/proc, /dev).
      throw refuse(`this process may not write there: ${firstLine(error)}`);
    }
    throw refuse(firstLine(error));
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}
