/**
 * casync's content-defined chunker: a buzhash over a 48-byte window, cut where
 * `h mod d = d - 1` (or at the maximum size), with `d` derived from the
 * average size exactly as casync does. Pure functions over bytes.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import { cut } from "./_internal/cut.js";
import type { CasyncBadParametersError } from "./errors.js";

/** Chunk size limits in bytes. */
export interface ChunkSizes {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

/** Chunk sizes with the derived cut discriminator; make them with {@link chunkerParams}. */
export interface ChunkerParams extends ChunkSizes {
  /** The cut test is `h mod discriminator = discriminator - 1`. */
  readonly discriminator: number;
}

/** casync's defaults: 16 KiB / 64 KiB / 256 KiB. */
export const DEFAULT_CHUNK_SIZES: ChunkSizes = Object.freeze({
  min: 16 * 1024,
  avg: 64 * 1024,
  max: 256 * 1024,
});

/** The buzhash window in bytes. */
export const CHUNKER_WINDOW = 48;

const LIMIT_MIN = 1;
const LIMIT_MAX = 128 * 1024 * 1024;

/**
 * casync's discriminator for an average chunk size. It is calibrated only for
 * `min = avg / 4` and `max = 4 * avg`; other ratios skew the real average.
 *
 * @example
 * ```ts
 * discriminatorFor(65536); // 49535
 * ```
 */
export function discriminatorFor(avg: number): number {
  return Math.trunc(avg / (-1.42888852e-7 * avg + 1.33237515));
}

/**
 * Check chunk sizes and derive the discriminator (clamped to `[min, max]`,
 * as casync does).
 *
 * @example
 * ```ts
 * const params = chunkerParams({ min: 16384, avg: 65536, max: 262144 })._unsafeUnwrap();
 * params.discriminator; // 49535
 * ```
 */
export function chunkerParams(
  sizes: ChunkSizes = DEFAULT_CHUNK_SIZES,
): Result<ChunkerParams, CasyncBadParametersError> {
  const { min, avg, max } = sizes;
  const valid =
    [min, avg, max].every((n) => Number.isSafeInteger(n)) &&
    min >= LIMIT_MIN &&
    min <= avg &&
    avg <= max &&
    max <= LIMIT_MAX;
  if (!valid) {
    return err({
      code: "CASYNC_BAD_PARAMETERS",
      message: `Chunk sizes must satisfy ${LIMIT_MIN} <= min <= avg <= max <= ${LIMIT_MAX}; got ${min}/${avg}/${max}.`,
      min,
      avg,
      max,
    });
  }
  const discriminator = Math.min(max, Math.max(min, discriminatorFor(avg)));
  return ok({ min, avg, max, discriminator });
}

/**
 * Find where the chunk starting at `start` ends, exactly as casync would cut it.
 *
 * Give at least `max` bytes after `start` unless the input ends at `end`
 * (`atEnd`); otherwise the answer is `-1` ("need more bytes"). Returns the
 * chunk's length.
 *
 * @example
 * ```ts
 * const p = chunkerParams()._unsafeUnwrap();
 * const length = findChunkEnd(bytes, 0, bytes.length, p, true);
 * ```
 */
export function findChunkEnd(
  bytes: Uint8Array,
  start: number,
  end: number,
  params: ChunkerParams,
  atEnd: boolean,
): number {
  return cut(bytes, start, end, params.min, params.avg, params.max, params.discriminator, atEnd);
}

/**
 * The end offsets of every chunk of `bytes` (the last one is `bytes.length`).
 *
 * @example
 * ```ts
 * const ends = chunkBoundaries(bytes, chunkerParams()._unsafeUnwrap());
 * ```
 */
export function chunkBoundaries(bytes: Uint8Array, params: ChunkerParams): number[] {
  const ends: number[] = [];
  let start = 0;
  while (start < bytes.length) {
    start += findChunkEnd(bytes, start, bytes.length, params, true);
    ends.push(start);
  }
  return ends;
}
