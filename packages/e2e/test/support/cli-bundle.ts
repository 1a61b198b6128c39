/**
 * The Lifeboat CLI as the e2e tests run it: one file,
 * `packages/cli/dist/lifeboat-standalone.js`, rebuilt when any source it is
 * bundled from is newer, and run on the host with `node`.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { repositoryRoot, sh } from "@lifeboat/testkit";

/**
 * The workspace packages (folder names under `packages/`) the CLI is built
 * from: `cli` and its `@lifeboat/*` dependencies, transitively (so `factory`
 * and any package added later are watched without a list to keep).
 */
export async function bundleSources(root: string): Promise<string[]> {
  const dirs = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const dir of await readdir(path.join(root, "packages"))) {
    const manifest = await readFile(path.join(root, "packages", dir, "package.json"), "utf8").catch(
      () => undefined,
    );
    if (manifest === undefined) continue;
    const pkg = JSON.parse(manifest) as { name: string; dependencies?: Record<string, string> };
    dirs.set(pkg.name, dir);
    deps.set(pkg.name, Object.keys(pkg.dependencies ?? {}));
  }
  const seen = new Set<string>();
  const visit = (name: string) => {
    const dir = dirs.get(name);
    if (dir === undefined || seen.has(dir)) return;
    seen.add(dir);
    for (const d of deps.get(name) ?? []) visit(d);
  };
  visit("lifeboat");
  return [...seen].sort();
}

/** Whether `bundle` is missing or older than a file under a bundled package's `src/` (or `c/`) or the CLI's build config. */
export async function bundleIsStale(bundle: string, root: string): Promise<boolean> {
  const built = await stat(bundle).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const files = [
    path.join(root, "packages/cli/tsup.config.ts"),
    path.join(root, "packages/cli/package.json"),
    path.join(root, "scripts/bundle-defines.ts"),
  ];
  for (const pkg of await bundleSources(root)) {
    // src/, and c/ where a package ships C the bundle embeds (btrfs).
    for (const dir of ["src", "c"]) {
      const base = path.join(root, "packages", pkg, dir);
      const names = await readdir(base, { recursive: true }).catch(() => []);
      for (const f of names) files.push(path.join(base, f));
    }
  }
  for (const f of files) if ((await stat(f)).mtimeMs > built) return true;
  return false;
}

/** The CLI bundle's path, rebuilt first (tsup) when it is stale. */
export async function cliBundle(say: (text: string) => void): Promise<string> {
  const root = repositoryRoot();
  const cliDir = path.join(root, "packages/cli");
  const bundle = path.join(cliDir, "dist/lifeboat-standalone.js");
  if (await bundleIsStale(bundle, root)) {
    say("  building the CLI bundle (tsup)");
    await sh("pnpm", ["--dir", cliDir, "exec", "tsup", "--silent"]);
  }
  return bundle;
}

/** Run the CLI bundle on the host; its standard output. */
export function runCli(bundle: string, args: readonly string[]): Promise<string> {
  return sh("node", [bundle, ...args]);
}
