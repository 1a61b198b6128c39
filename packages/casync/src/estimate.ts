/**
 * How much an update costs: which chunks of a new index are not in the
 * indexes the machine already has. Pure.
 *
 * @module
 */
import type { CasyncIndex, IndexChunk } from "./index-format.js";

/** The chunks an update needs and their (uncompressed) size. */
export interface UpdateEstimate {
  /** Distinct chunks of the target not found in any `have` index. */
  readonly missing: readonly IndexChunk[];
  /** Uncompressed bytes of `missing`. */
  readonly missingBytes: number;
  /** Image bytes that can come from what the machine already has. */
  readonly reusedBytes: number;
  readonly totalBytes: number;
}

/**
 * Compare a target index with the indexes of seeds already on the machine.
 * Multiply `missing` by their compressed sizes in the store for download bytes.
 *
 * @example
 * ```ts
 * const e = estimateUpdate(v2, [v1]);
 * console.log(`${e.missingBytes} of ${e.totalBytes} bytes to fetch`);
 * ```
 */
export function estimateUpdate(target: CasyncIndex, have: readonly CasyncIndex[]): UpdateEstimate {
  const present = new Set<string>();
  for (const index of have) for (const c of index.chunks) present.add(c.id);
  const missing: IndexChunk[] = [];
  const taken = new Set<string>();
  let reusedBytes = 0;
  for (const c of target.chunks) {
    if (present.has(c.id)) reusedBytes += c.size;
    else if (!taken.has(c.id)) {
      taken.add(c.id);
      missing.push(c);
    }
  }
  const missingBytes = missing.reduce((sum, c) => sum + c.size, 0);
  return { missing, missingBytes, reusedBytes, totalBytes: target.size };
}
