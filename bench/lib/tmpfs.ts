/**
 * A folder on a tmpfs for the bench's "data on tmpfs" runs, where an fdatasync costs nothing:
 * what is left of a gap to the limit there is the server's own code, not the disk.
 * As root: a tmpfs of `bytes` mounted for the run (unmounted by close); otherwise a folder
 * under /dev/shm when that is a tmpfs; otherwise none, with the reason.
 */
export interface Tmpfs {
  dir: string;
  how: string;
  close(): Promise<void>;
}

async function run(program: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr).trim();
    return { ok: out.success, text };
  } catch (error) {
    return { ok: false, text: String(error) };
  }
}

async function tmpfsMounts(): Promise<string[]> {
  const mounts = await Deno.readTextFile("/proc/mounts").catch(() => "");
  return mounts.split("\n").map((line) => line.split(" ")).filter((f) => f[2] === "tmpfs")
    .map((f) => f[1]!);
}

export async function openTmpfs(
  scratch: string,
  bytes: number,
): Promise<Tmpfs | { dir: null; why: string }> {
  const why: string[] = [];
  if (Deno.uid() === 0) {
    const dir = `${scratch}/tmpfs`;
    await Deno.mkdir(dir, { recursive: true });
    const size = `${Math.ceil(bytes / 2 ** 20)}m`;
    const mounted = await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
    if (mounted.ok) {
      return {
        dir,
        how: `tmpfs of ${size} mounted for the run`,
        close: async () => {
          const out = await run("umount", [dir]);
          if (!out.ok) console.error(`umount ${dir}: ${out.text}`);
        },
      };
    }
    why.push(`mount failed: ${mounted.text}`);
  } else {
    why.push("not root, cannot mount");
  }
  if ((await tmpfsMounts()).includes("/dev/shm")) {
    const dir = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "h5-bench-" });
    return {
      dir,
      how: "a folder under /dev/shm (tmpfs)",
      close: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
    };
  }
  why.push("/dev/shm is not a tmpfs");
  return { dir: null, why: why.join("; ") };
}
