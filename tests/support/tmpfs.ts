/**
 * A small tmpfs mounted by the test (needs root, or CAP_SYS_ADMIN): a disk that really fills.
 * `tmpfsProblem()` says why one cannot be mounted here, so a test can be skipped with a reason.
 */
import type { Scope } from "./scope.ts";

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stderr).trim() ||
      new TextDecoder().decode(out.stdout).trim();
    return { ok: out.success, text };
  } catch (error) {
    return { ok: false, text: String(error) };
  }
}

/** null when a tmpfs can be mounted here, else why not (one probe mount). */
export async function tmpfsProblem(): Promise<string | null> {
  if (Deno.build.os !== "linux") return `tmpfs mounts need Linux, not ${Deno.build.os}`;
  if (Deno.uid() !== 0) return `mount needs root (running as uid ${Deno.uid()})`;
  const dir = await Deno.makeTempDir({ prefix: "h5-tmpfs-probe-" });
  try {
    const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    if (!mounted.ok) return `mount -t tmpfs failed: ${mounted.text}`;
    await run("umount", [dir]);
    return null;
  } finally {
    await Deno.remove(dir).catch(() => {});
  }
}

/** Mounts a tmpfs of `size` (e.g. "2m") on a new folder; unmounted when the scope closes. */
export async function mountTmpfs(scope: Scope, size: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "h5-tmpfs-" });
  scope.defer("remove the tmpfs mount point", () => Deno.remove(dir));
  const mounted = await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  if (!mounted.ok) throw new Error(`Cannot mount a tmpfs on ${dir}: ${mounted.text}`);
  scope.defer("unmount the tmpfs", async () => {
    const done = await run("umount", [dir]);
    if (!done.ok) throw new Error(`Cannot unmount ${dir}: ${done.text}`);
  });
  return dir;
}

/** Bytes free for files on the file system holding `path` (df). */
export async function freeBytes(path: string): Promise<number> {
  const out = await run("df", ["-B1", "--output=avail", path]);
  const value = Number(out.text.split("\n").pop()?.trim());
  if (!out.ok || !Number.isFinite(value)) throw new Error(`df ${path}: ${out.text}`);
  return value;
}

/** Writes zeros to `path` until the disk refuses (ENOSPC); returns the bytes written. */
export async function fillDisk(path: string): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(4096);
  let written = 0;
  try {
    for (;;) written += await file.write(block);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOSPC") throw error;
  } finally {
    file.close();
  }
  return written;
}
