/**
 * esbuild cannot read Deno's npm cache (`nodeModulesDir: "none"`), so the build lays out
 * a throwaway `node_modules` of symlinks into that cache: exactly the npm packages the
 * entry's module graph uses, as `deno info` resolved them (deno.json imports, deno.lock
 * versions). esbuild then resolves bare imports with its own rules (exports, browser).
 */

interface DenoInfo {
  modules: { kind: string; npmPackage?: string }[];
  npmPackages: Record<string, { name: string; dependencies: string[]; localPath?: string }>;
}

/** Runs `deno info --json` on `entry`. */
export async function denoInfo(entry: string): Promise<DenoInfo> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot list the dependencies of ${entry}: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** name → cache folder of every npm package reachable from the graph's npm imports. */
export function npmClosure(info: DenoInfo): Map<string, string> {
  const found = new Map<string, string>();
  const ids = new Map<string, string>();
  const pending = info.modules.flatMap((m) => (m.npmPackage ? [m.npmPackage] : []));
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    const pkg = info.npmPackages[id];
    if (!pkg?.localPath) throw new Error(`Cannot find npm package "${id}" in the Deno cache`);
    const seen = ids.get(pkg.name);
    if (seen === id) continue;
    if (seen) {
      throw new Error(`Cannot bundle two versions of "${pkg.name}": ${seen} and ${id}`);
    }
    ids.set(pkg.name, id);
    found.set(pkg.name, pkg.localPath);
    pending.push(...pkg.dependencies);
  }
  return found;
}

/** Symlinks each package into `<dir>/node_modules`; returns that folder (for `nodePaths`). */
export async function linkPackages(packages: Map<string, string>, dir: string): Promise<string> {
  const root = `${dir}/node_modules`;
  for (const [name, path] of packages) {
    const link = `${root}/${name}`;
    await Deno.mkdir(link.slice(0, link.lastIndexOf("/")), { recursive: true });
    await Deno.symlink(path, link, { type: "dir" });
  }
  return root;
}
