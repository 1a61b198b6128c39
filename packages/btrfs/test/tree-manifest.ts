import { createHash } from "node:crypto";
import {
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
} from "node:fs";
import path from "node:path";
import type { CommandRunner, RunningCommand } from "@lifeboat/core";

function sha256(file: string, size: number): string {
  const hash = createHash("sha256");
  if (size <= 16 * 1024 * 1024) return hash.update(readFileSync(file)).digest("hex");
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/**
 * Sorted `path size mode sha256` lines (symlinks: their target; directories:
 * mode only) for every entry under `root`: the tree comparison for send/receive
 * tests. Synchronous on purpose: thousands of small files go much faster so.
 */
export async function treeManifest(root: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = lstatSync(full);
      const mode = (st.mode & 0o177777).toString(8);
      if (st.isSymbolicLink()) lines.push(`${rel}\tlink\t${mode}\t${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        lines.push(`${rel}\tdir\t${mode}`);
        walk(full);
      } else if (st.isFile()) lines.push(`${rel}\t${st.size}\t${mode}\t${sha256(full, st.size)}`);
      else lines.push(`${rel}\tspecial\t${mode}`);
    }
  };
  walk(root);
  return lines.sort();
}

/** A real runner that keeps a handle on every process it spawns (so a test can kill one). */
export function watchingRunner(base: CommandRunner): CommandRunner & {
  readonly spawned: Array<{ command: string; args: readonly string[]; handle: RunningCommand }>;
} {
  const spawned: Array<{ command: string; args: readonly string[]; handle: RunningCommand }> = [];
  return {
    spawned,
    run: (c, a, o) => base.run(c, a, o),
    runBytes: (c, a, o) => base.runBytes(c, a, o),
    spawn: (command, args, options) => {
      const handle = base.spawn(command, args, options);
      spawned.push({ command, args, handle });
      return handle;
    },
  };
}
