// What a bundle of Lifeboat's packages carries inside it, as esbuild `define`
// entries (name to JSON), for the tsup builds and for tests that bundle a
// child program: a bundle (one file in the recovery environment, or inside
// someone's application) has nothing beside it.
//
// - Worker threads' code is real modules (packages/*/src/_internal/*-worker.ts),
//   each bundled here to one script the code starting the worker runs with
//   `eval: true`. An IIFE calling `require`: an eval'd worker runs a script in
//   the global scope, where a top-level `var crypto` would collide with the
//   global of that name. Unbundled (vitest, tsx), the pools bundle their
//   worker the same way on first use.
// - The C files of @lifeboat/btrfs (packages/btrfs/c), which it builds its
//   helpers from; unbundled, it reads them from its c/ directory.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Each worker's `define` name and module. */
export const WORKERS = {
  __LIFEBOAT_CHUNK_WORKER__: "packages/casync/src/_internal/chunk-worker.ts",
  __LIFEBOAT_HASH_WORKER__: "packages/image/src/_internal/hash-worker.ts",
} as const;

export type WorkerName = keyof typeof WORKERS;

function bundle(entry: string): string {
  const result = buildSync({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    platform: "node",
    format: "iife",
    target: "node20",
    write: false,
    logLevel: "error",
  });
  const [out] = result.outputFiles;
  if (!out) throw new Error(`esbuild wrote nothing for ${entry}`);
  return out.text;
}

/** `define` entries for the given workers, default all. */
export function workerDefines(
  names: readonly WorkerName[] = Object.keys(WORKERS) as WorkerName[],
): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, JSON.stringify(bundle(WORKERS[name]))]));
}

/** The `define` entry of @lifeboat/btrfs's C files (`__LIFEBOAT_BTRFS_C__`, file name to text). */
export function btrfsCDefine(): Record<string, string> {
  const dir = path.join(root, "packages/btrfs/c");
  const files = readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), "utf8")]);
  return { __LIFEBOAT_BTRFS_C__: JSON.stringify(Object.fromEntries(files)) };
}

/** Every `define` entry: for a bundle of the CLI, or of any mix of the packages' sources. */
export function bundleDefines(): Record<string, string> {
  return { ...workerDefines(), ...btrfsCDefine() };
}

/** {@link bundleDefines} as esbuild command-line arguments (`--define:NAME=JSON`). */
export function bundleDefineArgs(): string[] {
  return Object.entries(bundleDefines()).map(([name, json]) => `--define:${name}=${json}`);
}
