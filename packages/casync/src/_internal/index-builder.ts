import type { ChunkSizes } from "../chunker.js";
import { type CasyncIndex, encodeIndex, type IndexChunk } from "../index-format.js";

const ITEM = 40; // end offset (u64 LE) + SHA-512/256 id, as in a .caibx table
const ID = 32;

/**
 * An index being built one chunk at a time, kept as the 40-byte items of a
 * `.caibx` table (640 KiB per GiB of image at casync's default sizes) rather
 * than as an object and a hex string per chunk, which held about 12 MiB of
 * heap per GiB.
 */
export class IndexBuilder {
  #items = Buffer.allocUnsafe(ITEM * 4096);
  #count = 0;
  #end = 0;

  get count(): number {
    return this.#count;
  }

  /** Append the chunk that ends at `end`, its id being `id[at .. at+32)`. */
  push(end: number, id: Uint8Array, at = 0): void {
    if ((this.#count + 1) * ITEM > this.#items.length) {
      const grown = Buffer.allocUnsafe(this.#items.length * 2);
      this.#items.copy(grown, 0, 0, this.#count * ITEM);
      this.#items = grown;
    }
    const o = this.#count * ITEM;
    this.#items.writeBigUInt64LE(BigInt(end), o);
    this.#items.set(id.subarray(at, at + ID), o + 8);
    this.#count++;
    this.#end = end;
  }

  /**
   * Calls `fn` with the latin1 key of every item's id, in order (a short-lived
   * string each: for the few ids a run must look up at its end).
   */
  forEachKey(fn: (key: string) => void): void {
    for (let o = 8; o < this.#count * ITEM; o += ITEM)
      fn(this.#items.toString("latin1", o, o + ID));
  }

  /**
   * How many distinct ids the items hold: item numbers sorted by id (4 bytes
   * per chunk, for as long as this runs) and equal neighbours counted once.
   * Exact, and nothing is kept per distinct id while the index is built.
   */
  distinct(): number {
    const items = this.#items;
    const order = new Uint32Array(this.#count);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const cmp = (a: number, b: number) =>
      items.compare(items, b * ITEM + 8, b * ITEM + ITEM, a * ITEM + 8, a * ITEM + ITEM);
    order.sort(cmp);
    let n = 0;
    for (let i = 0; i < order.length; i++)
      if (i === 0 || cmp(order[i - 1] as number, order[i] as number) !== 0) n++;
    return n;
  }

  /**
   * The finished index and its `.caibx` bytes. The index's `chunks` are
   * decoded from the bytes when first read, so a caller that only writes the
   * index never holds them.
   */
  finish(featureFlags: bigint, chunkSizes: ChunkSizes): { index: CasyncIndex; bytes: Uint8Array } {
    const items = this.#items.subarray(0, this.#count * ITEM);
    const bytes = encodeIndex({ featureFlags, chunkSizes, chunks: [] });
    // An empty table is header + table header + tail: put the items between.
    const head = bytes.length - 40;
    const out = new Uint8Array(bytes.length + items.length);
    out.set(bytes.subarray(0, head), 0);
    out.set(items, head);
    out.set(bytes.subarray(head), head + items.length);
    const view = new DataView(out.buffer);
    view.setBigUint64(out.length - 16, BigInt(out.length - 48), true); // the tail's table size
    let chunks: IndexChunk[] | undefined;
    const index: CasyncIndex = {
      featureFlags,
      chunkSizes,
      size: this.#end,
      get chunks(): readonly IndexChunk[] {
        chunks ??= decodeItems(items);
        return chunks;
      },
    };
    return { index, bytes: out };
  }
}

function decodeItems(items: Buffer): IndexChunk[] {
  const chunks: IndexChunk[] = [];
  let offset = 0;
  for (let o = 0; o < items.length; o += ITEM) {
    const end = Number(items.readBigUInt64LE(o));
    chunks.push({ offset, size: end - offset, id: items.toString("hex", o + 8, o + 8 + ID) });
    offset = end;
  }
  return chunks;
}
