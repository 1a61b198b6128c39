import { lstat, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { sha256File } from "../../src/_internal/fs.js";

/** One entry of a tree listing. */
export interface TreeEntry {
  readonly path: string;
  readonly type: "file" | "dir" | "symlink" | "other";
  readonly mode: number;
  readonly size: number;
  /** SHA-256 for files, link target for symlinks. */
  readonly content: string;
}

/**
 * A sorted listing of a directory tree (path, type, mode, size, SHA-256 or
 * link target), used to verify copies. `exclude` takes relative paths.
 */
export async function listTree(
  root: string,
  options: { readonly exclude?: (rel: string) => boolean } = {},
): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      if (options.exclude?.(child)) continue;
      const abs = path.join(root, child);
      const st = await lstat(abs);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.push({ path: child, type: "dir", mode, size: 0, content: "" });
        await walk(child);
      } else if (st.isFile()) {
        out.push({
          path: child,
          type: "file",
          mode,
          size: st.size,
          content: await sha256File(abs),
        });
      } else if (st.isSymbolicLink()) {
        out.push({ path: child, type: "symlink", mode: 0, size: 0, content: await readlink(abs) });
      } else {
        out.push({ path: child, type: "other", mode, size: 0, content: "" });
      }
    }
  }
  await walk("");
  return out;
}
