import { randomBytes } from "node:crypto";
import { BUZHASH_TABLE } from "../../src/_internal/buzhash-table.js";
import { discriminatorFor } from "../../src/chunker.js";

/** A mixed test image: random runs, repeated blocks (duplicate chunks) and zeros. */
export function mixedImage(size: number): Buffer {
  const out = Buffer.alloc(size);
  const block = randomBytes(300 * 1024);
  let at = 0;
  let i = 0;
  while (at < size) {
    const kind = i++ % 4;
    const len = Math.min(size - at, 200 * 1024 + ((i * 7919) % (900 * 1024)));
    if (kind === 0 || kind === 2) randomBytes(len).copy(out, at);
    else if (kind === 1)
      for (let j = 0; j < len; j += block.length)
        block.copy(out, at + j, 0, Math.min(block.length, len - j));
    at += len; // kind 3 stays zero
  }
  return out;
}

/** A 48-byte window whose buzhash satisfies casync's cut test for `avg`. */
export function cuttingWindow(avg: number): Buffer {
  const d = discriminatorFor(avg);
  for (;;) {
    const pool = randomBytes(48 * 200_000);
    for (let at = 0; at < pool.length; at += 48) {
      const w = pool.subarray(at, at + 48);
      let h = 0;
      for (const b of w) h = (((h << 1) | (h >>> 31)) ^ (BUZHASH_TABLE[b] as number)) >>> 0;
      if (h % d === d - 1) return Buffer.from(w);
    }
  }
}
