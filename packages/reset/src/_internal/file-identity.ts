import type { BigIntStats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";

/**
 * What identifies one version of a file without reading it: device, inode,
 * size, and modification and change times to the nanosecond. Any write
 * changes the change time, so an equal identity means unchanged contents.
 */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

function identityOfStats(st: BigIntStats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** The identity of the regular file `file` (not followed if a link); `undefined` when it is missing or not a regular file. */
export async function fileIdentity(file: string): Promise<FileIdentity | undefined> {
  const st = await lstat(file, { bigint: true }).catch((e: { code?: string }) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  return st?.isFile() ? identityOfStats(st) : undefined;
}

/** True when `a` and `b` are the same version of the same file. */
export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

/**
 * The identity of every entry under `dir` (recursively, names sorted, with
 * each entry's mode) as one string: equal strings mean nothing under `dir`
 * was written, added, removed or renamed in between.
 */
export async function treeIdentity(dir: string): Promise<string> {
  const names = (await readdir(dir, { recursive: true })).sort();
  const parts: string[] = [];
  for (const name of names) {
    const st = await lstat(path.join(dir, name), { bigint: true });
    const id = identityOfStats(st);
    parts.push(`${name}\0${id.dev}:${id.ino}:${id.size}:${id.mtimeNs}:${id.ctimeNs}:${st.mode}`);
  }
  return parts.join("\n");
}
