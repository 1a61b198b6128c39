import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { chunkPath } from "../store.js";

/** Writes chunk files into a store folder: temp file + rename, so no half chunk is ever visible. */
export class LocalStoreWriter {
  readonly #dirs = new Set<string>();
  constructor(readonly root: string) {}

  /** True when the chunk file is already there (casync never rewrites one). */
  async has(id: string): Promise<boolean> {
    try {
      await stat(path.join(this.root, chunkPath(id)));
      return true;
    } catch {
      return false;
    }
  }

  async put(id: string, compressed: Uint8Array): Promise<void> {
    const dir = path.join(this.root, id.slice(0, 4));
    if (!this.#dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.#dirs.add(dir);
    }
    const target = path.join(dir, `${id}.cacnk`);
    const temp = path.join(dir, `.${id}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      await writeFile(temp, compressed);
      await rename(temp, target);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
  }
}

/** Read a chunk file from a store folder; `undefined` when it is not there. */
export async function readLocalChunk(root: string, id: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path.join(root, chunkPath(id)));
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
}
