// Copy a file and fsync it; directories fsynced by the caller.
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory } from "@lifeboat/core";

export async function durableCopy(
  from: string,
  to: string,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<"ok" | "aborted"> {
  await mkdir(path.dirname(to), { recursive: true });
  const src = await open(from, "r");
  try {
    const dst = await open(to, "wx", 0o644);
    try {
      const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
      let pos = 0;
      for (;;) {
        if (signal?.aborted) return "aborted";
        const { bytesRead } = await src.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        let off = 0;
        while (off < bytesRead) {
          const { bytesWritten } = await dst.write(buf, off, bytesRead - off, pos + off);
          off += bytesWritten;
        }
        pos += bytesRead;
        onBytes(bytesRead);
      }
      await dst.sync();
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
  return "ok";
}

export async function writeDurable(to: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  const h = await open(to, "wx", 0o644);
  try {
    await h.writeFile(bytes);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** fsync every directory under `dir` (deepest first), then `dir` itself. */
export async function fsyncTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) if (e.isDirectory()) await fsyncTree(path.join(dir, e.name));
  await fsyncDirectory(dir);
}

/** Remove a directory so that it never looks complete while half deleted: rename first. */
export async function removeDurably(parent: string, name: string): Promise<void> {
  const trash = path.join(parent, `.trash-${name}-${process.pid}-${Date.now()}`);
  await rename(path.join(parent, name), trash);
  await fsyncDirectory(parent);
  await rm(trash, { recursive: true, force: true });
}
