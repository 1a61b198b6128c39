/**
 * The errors of `@lifeboat/casync`: stable `CASYNC_*` codes, each with the
 * numbers a UI needs, plus the core errors that pass through.
 *
 * @module
 */
import type { AbortedError, ErrorBase, InvalidArgumentError, IoFailedError } from "@lifeboat/core";

/** An index file is not a casync blob index (`.caibx`): damaged, SHA-256 ids, or a directory index (`.caidx`). */
export interface CasyncBadIndexError extends ErrorBase<"CASYNC_BAD_INDEX"> {
  /** Where the index came from (a path, or `"bytes"`). */
  readonly source: string;
  /** Byte offset in the index where the problem was found. */
  readonly offset: number;
}

/** A chunk's data does not hash to its id: the store or a seed gave wrong bytes. */
export interface CasyncChunkCorruptError extends ErrorBase<"CASYNC_CHUNK_CORRUPT"> {
  readonly chunkId: string;
  /** The SHA-512/256 of the bytes received. */
  readonly actualId: string;
  /** The store (folder or URL) that served it. */
  readonly store: string;
  /** How many times it was fetched before giving up. */
  readonly attempts: number;
}

/**
 * A chunk's length differs from what the index says (the data does hash to
 * its id, so the index is wrong), or the index gives one chunk id two
 * lengths. Writing it would give a wrong image; casync refuses too ("Bad
 * message").
 */
export interface CasyncChunkMismatchError extends ErrorBase<"CASYNC_CHUNK_MISMATCH"> {
  readonly chunkId: string;
  /** Image offset of the index entry concerned. */
  readonly offset: number;
  /** The length the index entry gives. */
  readonly expectedSize: number;
  /** The chunk's real length (or the length another entry with the same id gives). */
  readonly actualSize: number;
}

/** No store has the chunk (404 / missing file everywhere). */
export interface CasyncChunkNotFoundError extends ErrorBase<"CASYNC_CHUNK_NOT_FOUND"> {
  readonly chunkId: string;
  readonly stores: readonly string[];
}

/** A store could not be read after every retry (HTTP 5xx, dropped connections, timeouts). */
export interface CasyncFetchFailedError extends ErrorBase<"CASYNC_FETCH_FAILED"> {
  readonly chunkId: string;
  readonly url: string;
  /** The last HTTP status, when a response arrived. */
  readonly status: number | undefined;
  readonly attempts: number;
}

/** A chunk file's compression is not one this library reads (xz), or its frame is damaged. */
export interface CasyncDecompressFailedError extends ErrorBase<"CASYNC_DECOMPRESS_FAILED"> {
  readonly chunkId: string;
  readonly store: string;
  /** The compression recognised from the magic bytes, or `"unknown"`. */
  readonly compression: "zstd" | "gzip" | "xz" | "unknown";
}

/** The chunker parameters are out of range (min ≤ avg ≤ max, 1 B … 128 MiB). */
export interface CasyncBadParametersError extends ErrorBase<"CASYNC_BAD_PARAMETERS"> {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

/** Every `CASYNC_*` error. */
export type CasyncOwnError =
  | CasyncBadIndexError
  | CasyncChunkCorruptError
  | CasyncChunkMismatchError
  | CasyncChunkNotFoundError
  | CasyncFetchFailedError
  | CasyncDecompressFailedError
  | CasyncBadParametersError;

/** Everything a `@lifeboat/casync` function can fail with. */
export type CasyncError = CasyncOwnError | IoFailedError | AbortedError | InvalidArgumentError;
