import type { FileHandle } from "node:fs/promises";
import type { ChunkSizes } from "../chunker.js";
import { type CasyncIndex, encodeIndex, type IndexChunk } from "../index-format.js";

/** End offset (u64 LE) + SHA-512/256 id, as in a .caibx table. */
export const ITEM = 40;
const ID = 32;
/** INDEX object + TABLE header: where the first item of a `.caibx` starts. */
export const ITEMS_AT = 64;
const TAIL = 40;
/** Items written at a time (1 MiB). */
const BATCH = Math.floor((1024 * 1024) / ITEM) * ITEM;

/**
 * A `.caibx` written to a file as it is built: the header at once, the 40-byte
 * items in batches of 1 MiB, the tail (which holds the table's size) at the
 * end. Memory: one or two batches, whatever the number of chunks.
 */
export class IndexWriter {
  readonly #handle: FileHandle;
  #batch: Buffer = Buffer.allocUnsafe(BATCH);
  #spare: Buffer | undefined;
  #fill = 0;
  #position = ITEMS_AT;
  #writing: Promise<void>;
  #count = 0;
  #end = 0;

  /** Starts writing the header of an index with these flags and sizes into `handle` (an empty file). */
  constructor(
    handle: FileHandle,
    readonly featureFlags: bigint,
    readonly chunkSizes: ChunkSizes,
  ) {
    this.#handle = handle;
    const empty = encodeIndex({ featureFlags, chunkSizes, chunks: [] });
    this.#writing = writeAll(handle, Buffer.from(empty.subarray(0, ITEMS_AT)), 0);
    this.#writing.catch(() => {}); // thrown by settle()
  }

  get count(): number {
    return this.#count;
  }

  /** The image's size so far: the last chunk's end. */
  get size(): number {
    return this.#end;
  }

  /**
   * Append the chunk that ends at `end`, its id being `id[at .. at+32)`. A full
   * batch is written in the background: call {@link settle} now and then (once
   * per segment) so no more than two batches are ever held.
   */
  push(end: number, id: Uint8Array, at = 0): void {
    if (this.#fill === BATCH) this.#flush();
    const o = this.#fill;
    this.#batch.writeBigUInt64LE(BigInt(end), o);
    this.#batch.set(id.subarray(at, at + ID), o + 8);
    this.#fill += ITEM;
    this.#count++;
    this.#end = end;
  }

  /** Wait for the batches being written; throws their write error. */
  settle(): Promise<void> {
    return this.#writing;
  }

  /** Write the last items and the tail. The file is complete (not yet synced) when this resolves. */
  async finish(): Promise<{ bytes: number }> {
    this.#flush();
    await this.#writing;
    const tableSize = 16 + this.#count * ITEM + TAIL;
    const empty = encodeIndex({
      featureFlags: this.featureFlags,
      chunkSizes: this.chunkSizes,
      chunks: [],
    });
    const tail = Buffer.from(empty.subarray(ITEMS_AT));
    tail.writeBigUInt64LE(BigInt(tableSize), 24);
    await writeAll(this.#handle, tail, this.#position);
    return { bytes: this.#position + TAIL };
  }

  #flush(): void {
    if (this.#fill === 0) return;
    const full = this.#batch;
    const length = this.#fill;
    const position = this.#position;
    this.#position += length;
    this.#batch = this.#spare ?? Buffer.allocUnsafe(BATCH);
    this.#spare = undefined;
    this.#fill = 0;
    this.#writing = this.#writing.then(async () => {
      await writeAll(this.#handle, full.subarray(0, length), position);
      this.#spare = full;
    });
    this.#writing.catch(() => {}); // thrown by settle() / finish()
  }
}

/** `data` written at `position`, however many calls that takes. */
export async function writeAll(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * An index whose `chunks` are decoded from its `.caibx` bytes when first read
 * (and `bytes()` only called then), so a caller that does not read them never
 * holds them.
 */
export function lazyIndex(
  featureFlags: bigint,
  chunkSizes: ChunkSizes,
  size: number,
  bytes: () => Uint8Array,
): CasyncIndex {
  let chunks: IndexChunk[] | undefined;
  return {
    featureFlags,
    chunkSizes,
    size,
    get chunks(): readonly IndexChunk[] {
      chunks ??= decodeItems(bytes());
      return chunks;
    },
  };
}

function decodeItems(caibx: Uint8Array): IndexChunk[] {
  const items = Buffer.from(
    caibx.buffer,
    caibx.byteOffset + ITEMS_AT,
    caibx.length - ITEMS_AT - TAIL,
  );
  const chunks: IndexChunk[] = [];
  let offset = 0;
  for (let o = 0; o < items.length; o += ITEM) {
    const end = Number(items.readBigUInt64LE(o));
    chunks.push({ offset, size: end - offset, id: items.toString("hex", o + 8, o + 8 + ID) });
    offset = end;
  }
  return chunks;
}
