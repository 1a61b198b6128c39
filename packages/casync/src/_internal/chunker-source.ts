import { BUZHASH_TABLE } from "./buzhash-table.js";

/**
 * The chunker's hot loop as plain JavaScript source, so the main thread (via
 * `new Function`) and the chunking worker threads (evaluated source) run the
 * very same code. Evaluating it returns
 * `cut(bytes, start, end, min, avg, max, discriminator, atEnd) => length | -1`.
 */
export const CHUNKER_SOURCE = `
const T = Int32Array.from(${JSON.stringify(Array.from(BUZHASH_TABLE))});
// Rotating an entry by the window size (48 = 16 mod 32) removes the leaving byte.
const T_OUT = Int32Array.from(T, (v) => (v << 16) | (v >>> 16));
const tests = new Map();
function cutTest(d) {
  let t = tests.get(d);
  if (t !== undefined) return t;
  // Division-free pre-test "d divides h + 1" (Granlund-Montgomery); hits are confirmed with %.
  let shift = 0, odd = d;
  while ((odd & 1) === 0) { odd >>>= 1; shift++; }
  let inverse = odd;
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(odd, inverse));
  t = { inverse, shift, limit: Math.floor(0xffffffff / d) };
  tests.set(d, t);
  return t;
}
function cut(bytes, start, end, min, avg, max, d, atEnd) {
  const available = end - start;
  if (available < max && !atEnd) return -1;
  if (min === avg && max === avg) return Math.min(avg, available);
  const first = Math.max(min, 48); // casync tests the first full window at exactly min
  if (available <= first) return available;
  let h = 0;
  for (let j = start + first - 48; j < start + first; j++) h = ((h << 1) | (h >>> 31)) ^ T[bytes[j]];
  const stop = start + Math.min(available, max);
  const { inverse, shift, limit } = cutTest(d);
  const dm1 = d - 1;
  let pos = start + first;
  if (shift === 0) {
    while (pos < stop) {
      if (Math.imul((h + 1) | 0, inverse) >>> 0 <= limit && (h >>> 0) % d === dm1) return pos - start;
      h = ((h << 1) | (h >>> 31)) ^ T_OUT[bytes[pos - 48]] ^ T[bytes[pos]];
      pos++;
    }
  } else {
    const back = 32 - shift;
    while (pos < stop) {
      const x = Math.imul((h + 1) | 0, inverse);
      if (((x >>> shift) | (x << back)) >>> 0 <= limit && (h >>> 0) % d === dm1) return pos - start;
      h = ((h << 1) | (h >>> 31)) ^ T_OUT[bytes[pos - 48]] ^ T[bytes[pos]];
      pos++;
    }
  }
  return pos - start;
}
return cut;
`;

export type CutFunction = (
  bytes: Uint8Array,
  start: number,
  end: number,
  min: number,
  avg: number,
  max: number,
  discriminator: number,
  atEnd: boolean,
) => number;

// Compiled once from the source the worker threads run too.
export const cut: CutFunction = new Function(CHUNKER_SOURCE)() as CutFunction;
