import { BUZHASH_TABLE } from "./buzhash-table.js";

// The chunker's hot loop, shared by the main thread (`findChunkEnd`) and the
// chunking worker threads (chunk-worker.ts).

const WINDOW = 48;
const T = Int32Array.from(BUZHASH_TABLE);
// Rotating an entry by the window size (48 = 16 mod 32) removes the leaving byte.
const T_OUT = Int32Array.from(T, (v) => (v << 16) | (v >>> 16));

interface CutTest {
  readonly inverse: number;
  readonly shift: number;
  readonly limit: number;
}
const tests = new Map<number, CutTest>();

function cutTest(d: number): CutTest {
  let t = tests.get(d);
  if (t !== undefined) return t;
  // Division-free pre-test "d divides h + 1" (Granlund-Montgomery); hits are confirmed with %.
  let shift = 0;
  let odd = d;
  while ((odd & 1) === 0) {
    odd >>>= 1;
    shift++;
  }
  let inverse = odd;
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(odd, inverse));
  t = { inverse, shift, limit: Math.floor(0xffffffff / d) };
  tests.set(d, t);
  return t;
}

/**
 * Where the chunk starting at `start` ends: its length, or -1 when more bytes
 * are needed (fewer than `max` available and not `atEnd`).
 */
export function cut(
  bytes: Uint8Array,
  start: number,
  end: number,
  min: number,
  avg: number,
  max: number,
  d: number,
  atEnd: boolean,
): number {
  const available = end - start;
  if (available < max && !atEnd) return -1;
  if (min === avg && max === avg) return Math.min(avg, available);
  const first = Math.max(min, WINDOW); // casync tests the first full window at exactly min
  if (available <= first) return available;
  let h = 0;
  for (let j = start + first - WINDOW; j < start + first; j++)
    h = ((h << 1) | (h >>> 31)) ^ (T[bytes[j] as number] as number);
  const stop = start + Math.min(available, max);
  const { inverse, shift, limit } = cutTest(d);
  const dm1 = d - 1;
  let pos = start + first;
  if (shift === 0) {
    while (pos < stop) {
      if (Math.imul((h + 1) | 0, inverse) >>> 0 <= limit && (h >>> 0) % d === dm1)
        return pos - start;
      h =
        ((h << 1) | (h >>> 31)) ^
        (T_OUT[bytes[pos - WINDOW] as number] as number) ^
        (T[bytes[pos] as number] as number);
      pos++;
    }
  } else {
    const back = 32 - shift;
    while (pos < stop) {
      const x = Math.imul((h + 1) | 0, inverse);
      if (((x >>> shift) | (x << back)) >>> 0 <= limit && (h >>> 0) % d === dm1) return pos - start;
      h =
        ((h << 1) | (h >>> 31)) ^
        (T_OUT[bytes[pos - WINDOW] as number] as number) ^
        (T[bytes[pos] as number] as number);
      pos++;
    }
  }
  return pos - start;
}
