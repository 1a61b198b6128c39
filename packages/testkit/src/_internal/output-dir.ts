import { existsSync } from "node:fs";
import path from "node:path";

/** The repository root: the nearest folder above the working directory holding pnpm-workspace.yaml. */
export function repositoryRoot(): string {
  let dir = process.cwd();
  for (;;) {
    if (existsSync(path.join(dir, "pnpm-workspace.yaml"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** A path under `<repository>/test-output/` (the folder CI keeps after a run). */
export function testOutputPath(...parts: string[]): string {
  return path.join(repositoryRoot(), "test-output", ...parts);
}

/** A file-name-safe time stamp, e.g. `20261125T195100-123`. */
export function stamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.(\d+)Z$/, "-$1");
}
