/**
 * casync's blob index (`.caibx`): encode and parse, as pure functions over bytes.
 *
 * Layout (little-endian): a 48-byte INDEX object `{size=48, type, flags, min,
 * avg, max}`, a TABLE header `{UINT64_MAX, type}`, one 40-byte item per chunk
 * `{end offset, id[32]}`, and a 40-byte tail `{0, 0, 48, table size, marker}`.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import type { ChunkSizes } from "./chunker.js";
import type { CasyncBadIndexError } from "./errors.js";

const INDEX_TYPE = 0x96824d9c7b129ff9n;
const TABLE_TYPE = 0xe75b9e112f17417dn;
const TABLE_TAIL_MARKER = 0x4b4f050e5549ecd1n;
const HEADER_SIZE = 48;
const TABLE_HEADER_SIZE = 16;
const ITEM_SIZE = 40;
const TAIL_SIZE = 40;

/** Feature flag: chunk ids are SHA-512/256. */
export const FLAG_SHA512_256 = 0x2000000000000000n;
/** The flags `casync make` writes for a blob index (exclude-nodump, exclude-file, SHA-512/256). */
export const DEFAULT_INDEX_FLAGS = 0xb000000000000000n;
/** casync's archive feature bits (uids, times, permissions, xattrs, ...): set only in a directory index (`.caidx`). */
const ARCHIVE_FEATURES = 0x0fffffffffffffffn;

/** One chunk of an image: where it is and what it hashes to. */
export interface IndexChunk {
  /** Byte offset in the image. */
  readonly offset: number;
  readonly size: number;
  /** SHA-512/256 of the uncompressed chunk, 64 lowercase hex digits. */
  readonly id: string;
}

/** A parsed blob index. */
export interface CasyncIndex {
  readonly featureFlags: bigint;
  readonly chunkSizes: ChunkSizes;
  readonly chunks: readonly IndexChunk[];
  /** Size of the whole image in bytes. */
  readonly size: number;
}

/**
 * Encode an index in casync's `.caibx` format.
 *
 * @example
 * ```ts
 * const bytes = encodeIndex({ featureFlags: DEFAULT_INDEX_FLAGS, chunkSizes, chunks, size });
 * ```
 */
export function encodeIndex(index: Omit<CasyncIndex, "size"> & { size?: number }): Uint8Array {
  const n = index.chunks.length;
  const tableSize = TABLE_HEADER_SIZE + ITEM_SIZE * n + TAIL_SIZE;
  const out = new Uint8Array(HEADER_SIZE + tableSize);
  const view = new DataView(out.buffer);
  const u64 = (at: number, v: bigint | number) => view.setBigUint64(at, BigInt(v), true);
  u64(0, HEADER_SIZE);
  u64(8, INDEX_TYPE);
  u64(16, index.featureFlags);
  u64(24, index.chunkSizes.min);
  u64(32, index.chunkSizes.avg);
  u64(40, index.chunkSizes.max);
  u64(48, 0xffffffffffffffffn);
  u64(56, TABLE_TYPE);
  let at = HEADER_SIZE + TABLE_HEADER_SIZE;
  for (const chunk of index.chunks) {
    u64(at, chunk.offset + chunk.size);
    out.set(Buffer.from(chunk.id, "hex"), at + 8);
    at += ITEM_SIZE;
  }
  u64(at + 16, HEADER_SIZE);
  u64(at + 24, tableSize);
  u64(at + 32, TABLE_TAIL_MARKER);
  return out;
}

/**
 * Parse a `.caibx` blob index. Checks every magic number, size and that
 * offsets only grow. A directory index (`.caidx`: archive feature flags set,
 * or a `source` named `*.caidx`, as casync itself tells them apart) is
 * `CASYNC_BAD_INDEX`.
 *
 * @example
 * ```ts
 * const index = parseIndex(await readFile("image.caibx"), "image.caibx");
 * if (index.isOk()) console.log(index.value.chunks.length);
 * ```
 */
export function parseIndex(
  bytes: Uint8Array,
  source = "bytes",
): Result<CasyncIndex, CasyncBadIndexError> {
  const bad = (offset: number, what: string): Result<never, CasyncBadIndexError> =>
    err({
      code: "CASYNC_BAD_INDEX",
      message: `${source} is not a casync index: ${what}.`,
      source,
      offset,
    });
  if (bytes.length < HEADER_SIZE + TABLE_HEADER_SIZE + TAIL_SIZE) return bad(0, "too short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number) => view.getBigUint64(at, true);
  if (u64(0) !== BigInt(HEADER_SIZE) || u64(8) !== INDEX_TYPE) return bad(0, "bad index header");
  const featureFlags = u64(16);
  const directory =
    "a directory index (.caidx) describes a file tree, not an image: only blob indexes (.caibx) are read";
  if ((featureFlags & ARCHIVE_FEATURES) !== 0n) return bad(16, directory);
  if (source.endsWith(".caidx")) return bad(0, directory);
  if ((featureFlags & FLAG_SHA512_256) === 0n)
    return bad(16, "chunk ids are SHA-256, only SHA-512/256 is supported");
  const [min, avg, max] = [u64(24), u64(32), u64(40)].map(Number) as [number, number, number];
  if (!(min >= 1 && min <= avg && avg <= max)) return bad(24, "bad chunk sizes");
  if (u64(48) !== 0xffffffffffffffffn || u64(56) !== TABLE_TYPE) return bad(48, "bad table header");
  const itemsBytes = bytes.length - HEADER_SIZE - TABLE_HEADER_SIZE - TAIL_SIZE;
  if (itemsBytes % ITEM_SIZE !== 0) return bad(bytes.length, "truncated table");
  const n = itemsBytes / ITEM_SIZE;
  const tail = bytes.length - TAIL_SIZE;
  if (
    u64(tail) !== 0n ||
    u64(tail + 8) !== 0n ||
    u64(tail + 16) !== BigInt(HEADER_SIZE) ||
    u64(tail + 24) !== BigInt(TABLE_HEADER_SIZE + ITEM_SIZE * n + TAIL_SIZE) ||
    u64(tail + 32) !== TABLE_TAIL_MARKER
  ) {
    return bad(tail, "bad table tail");
  }
  const chunks: IndexChunk[] = [];
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const at = HEADER_SIZE + TABLE_HEADER_SIZE + i * ITEM_SIZE;
    const end = Number(u64(at));
    if (end <= offset || end - offset > max) return bad(at, `chunk ${i} has a bad end offset`);
    const id = Buffer.from(bytes.buffer, bytes.byteOffset + at + 8, 32).toString("hex");
    chunks.push({ offset, size: end - offset, id });
    offset = end;
  }
  return ok({ featureFlags, chunkSizes: { min, avg, max }, chunks, size: offset });
}
