/**
 * How much two releases of a tree really overlap, measured before any chunking:
 * bytes of v2 files at a path v1 also has (after normalising version-named path
 * parts), bytes of v2 files identical to v1's, and a delta yardstick: the sum
 * over v2's files of `zstd -19 --patch-from=<v1 file>` (or plain `zstd -19` for
 * files v1 lacks), i.e. what an ideal file-by-file binary delta would need.
 * Chunk-level deduplication can at best approach that yardstick.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export interface TreeOverlap {
  readonly v2Files: number;
  readonly v2Bytes: number;
  /** Bytes of v2 files whose (normalised) path exists in v1. */
  readonly samePathBytes: number;
  /** Bytes of v2 files whose content is identical to some v1 file. */
  readonly identicalBytes: number;
  readonly identicalFiles: number;
  /** Sum of per-file `zstd -19 --patch-from` sizes (yardstick for an ideal file-wise delta). */
  readonly patchFromBytes: number;
  /** Sum of per-file plain `zstd -19` sizes of the changed files (what the yardstick saves on). */
  readonly changedFilesZstdBytes: number;
}

function regularFiles(root: string, normalise: (p: string) => string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.set(normalise(path.relative(root, full)), full);
    }
  };
  walk(root);
  return out;
}

const zstdSize = (file: string, base?: string): number =>
  execFileSync(
    "zstd",
    ["-19", "-q", "-c", ...(base === undefined ? [] : [`--patch-from=${base}`]), file],
    { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] },
  ).length;

/**
 * Measure the overlap of two unpacked trees.
 *
 * @param normalise maps a relative path to the key files are matched by, e.g.
 *   replacing `6.1.0-47-amd64` and `6.1.0-50-amd64` with one placeholder.
 */
export function treeOverlap(
  v1Dir: string,
  v2Dir: string,
  options: { normalise?: (relativePath: string) => string; patchFrom?: boolean } = {},
): TreeOverlap {
  const normalise = options.normalise ?? ((p: string) => p);
  const a = regularFiles(v1Dir, normalise);
  const b = regularFiles(v2Dir, normalise);
  const hash = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
  const v1Hashes = new Set([...a.values()].map(hash));
  let v2Bytes = 0;
  let samePathBytes = 0;
  let identicalBytes = 0;
  let identicalFiles = 0;
  let patchFromBytes = 0;
  let changedFilesZstdBytes = 0;
  for (const [key, file] of b) {
    const bytes = readFileSync(file);
    v2Bytes += bytes.length;
    const old = a.get(key);
    if (old !== undefined) samePathBytes += bytes.length;
    if (v1Hashes.has(createHash("sha256").update(bytes).digest("hex"))) {
      identicalBytes += bytes.length;
      identicalFiles++;
      continue;
    }
    if (options.patchFrom === false || bytes.length === 0) continue;
    const plain = zstdSize(file);
    changedFilesZstdBytes += plain;
    patchFromBytes += old === undefined ? plain : Math.min(plain, zstdSize(file, old));
  }
  return {
    v2Files: b.size,
    v2Bytes,
    samePathBytes,
    identicalBytes,
    identicalFiles,
    patchFromBytes,
    changedFilesZstdBytes,
  };
}
