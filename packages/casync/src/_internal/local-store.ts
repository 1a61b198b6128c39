import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { chunkPath } from "../store.js";

/**
 * Write a chunk file unless it is there. Returns its compressed size when this
 * call created it, 0 when it was there: the file is published with link(),
 * which fails when the name exists, so of two writers of the same chunk (two
 * workers, or a worker and the main thread) exactly one reports it as new and
 * the run's counts are exact without a map of every id on the main thread.
 */
export async function putChunkFile(
  storeDir: string,
  hex: string,
  compress: () => Promise<Uint8Array>,
): Promise<number> {
  const dir = path.join(storeDir, hex.slice(0, 4));
  const target = path.join(dir, `${hex}.cacnk`);
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    return 0;
  const compressed = await compress();
  const temp = path.join(dir, `.${hex}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    // The chunk directory is made when the first write into it finds it missing.
    await writeFile(temp, compressed).catch(async (e: NodeJS.ErrnoException) => {
      if (e?.code !== "ENOENT") throw e;
      await mkdir(dir, { recursive: true });
      await writeFile(temp, compressed);
    });
    const created = await link(temp, target).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e?.code === "EEXIST") return false;
        throw e;
      },
    );
    return created ? compressed.length : 0;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Writes chunk files into a store folder: temp file + link, so no half chunk is ever visible. */
export class LocalStoreWriter {
  constructor(readonly root: string) {}

  /** Write chunk `id` (hex) unless it is there: its compressed size when this call created it, else 0. */
  put(id: string, compress: () => Promise<Uint8Array>): Promise<number> {
    return putChunkFile(this.root, id, compress);
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
