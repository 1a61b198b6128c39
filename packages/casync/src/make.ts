/**
 * Make a casync blob index (and fill a chunk store) from an image file or stream.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { type FileHandle, mkdtemp, open, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { fsyncDirectory, ioError } from "@lifeboat/core/lite";
import { ResultAsync } from "neverthrow";
import { chunkIdBytes } from "./_internal/chunk-id.js";
import { ChunkPool, type SegmentResult } from "./_internal/chunk-pool.js";
import { compressChunk } from "./_internal/compression.js";
import {
  countDistinctIds,
  DEFAULT_SORT_LIMITS,
  type SortLimits,
} from "./_internal/distinct-ids.js";
import { checkAborted, fail, toCasyncError } from "./_internal/failure.js";
import { IndexWriter, lazyIndex } from "./_internal/index-builder.js";
import { LocalStoreWriter } from "./_internal/local-store.js";
import { type BlockSource, openFileSource, streamSource } from "./_internal/reader.js";
import { type ChunkSizes, chunkerParams, DEFAULT_CHUNK_SIZES, findChunkEnd } from "./chunker.js";
import type { CasyncError } from "./errors.js";
import { type CasyncIndex, DEFAULT_INDEX_FLAGS } from "./index-format.js";
import { chunkPath } from "./store.js";

/** Progress of {@link makeIndex}. */
export type MakeProgress = {
  readonly type: "chunking";
  /** Bytes of the image chunked so far. */
  readonly bytesRead: number;
  /**
   * The image's size: a regular file's size, or {@link MakeOptions.bytesTotal}
   * for a stream or a device (undefined when not given). The last event of a
   * whole image has `bytesRead === bytesTotal`.
   */
  readonly bytesTotal: number | undefined;
  readonly chunks: number;
  /** Chunks written to the store so far (new ones only). */
  readonly chunksStored: number;
  /** Compressed bytes written to the store so far. */
  readonly bytesStored: number;
};

/** Options of {@link makeIndex}. */
export interface MakeOptions {
  /**
   * Write the `.caibx` index here, atomically: it is written as it is built to
   * a temporary file beside it (`.<name>.<pid>.<time>.tmp`, removed if the call
   * fails or is aborted), synced, renamed over `indexPath`, and the folder
   * synced. With it, memory does not grow with the input's size (see
   * {@link MakeResult.indexBytes}).
   */
  readonly indexPath?: string;
  /** Put every chunk into this store folder (created when missing). Without it only the index is made. */
  readonly store?: string;
  /** Chunk sizes (default casync's 16/64/256 KiB). */
  readonly chunkSizes?: ChunkSizes;
  /**
   * zstd level of stored chunks (default 3, as casync). Known limitation: the
   * bundled compressor (@mongodb-js/zstd 1.2.2) does not apply it; chunks come
   * out at about level 3 whatever is asked (measured in bench/results/casync.md).
   */
  readonly compressionLevel?: number;
  /**
   * Segments of 4 MiB being chunked, hashed and stored at once (default: as
   * many as the workers, at least 2). Memory grows with it; the input's size does not.
   */
  readonly concurrency?: number;
  /** Worker threads chunking, hashing and compressing (default: CPU count, at most 4). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: MakeProgress) => void;
  /**
   * The input's size, for progress `bytesTotal`, when the input is a stream or
   * a block device (a regular file's own size is used otherwise).
   */
  readonly bytesTotal?: number;
}

/** What {@link makeIndex} made. */
export interface MakeResult {
  /**
   * The index. Its `chunks` (an object per chunk) are decoded from
   * {@link MakeResult.indexBytes} when first read, so a caller that does not
   * read them never holds them.
   */
  readonly index: CasyncIndex;
  /**
   * The encoded `.caibx` bytes (40 per chunk, about 640 KiB per GiB of image).
   * With {@link MakeOptions.indexPath} they are read from that file when first
   * asked for (synchronously; it throws if the file was removed meanwhile), so
   * a caller that only writes the index never holds them. Without it they were
   * read into memory when the index was finished, and the result holds them.
   */
  readonly indexBytes: Uint8Array;
  /** Distinct chunks in the image. */
  readonly uniqueChunks: number;
  /** Chunk files of the index that were not in the store before and were written: the same on every run of the same input into the same store. */
  readonly chunksStored: number;
  /** Compressed bytes of those chunk files (their sizes in the store). */
  readonly bytesStored: number;
}

const SEGMENT = 4 * 1024 * 1024;

/**
 * Chunk an image exactly as `casync make` does, hash every chunk (SHA-512/256),
 * write new chunks zstd-compressed into a store and write the index.
 *
 * With `indexPath`, memory holds nothing per chunk: the image is read a few
 * 4 MiB segments at a time, the index is written to a temporary file beside
 * `indexPath` as it is built (1 MiB at a time), and the distinct chunks are
 * counted by an external sort of their ids (sorted runs of at most 2 MiB in
 * temporary files under `os.tmpdir()`, then merged). What still grows, with a
 * store: the id and size of each chunk a worker stored for a cut off casync's
 * chain (about one per 4 MiB segment, ~100 bytes each: ~27 KiB per GiB), kept until
 * the end decides whether it is counted. Peaks measured: 120 MiB RSS at 1 GiB,
 * 144-146 MiB at 8 and 16 GiB (bench/results/casync-memory.md). Without
 * `indexPath` the same happens in a temporary folder, and the finished index is
 * then read into {@link MakeResult.indexBytes}: 40 bytes per chunk (about
 * 640 KiB per GiB of image) held by the result. Temporary files are removed
 * when the call ends, whether it succeeds, fails or is aborted.
 *
 * @example
 * ```ts
 * const made = await makeIndex("recovery.img", { indexPath: "recovery.caibx", store: "default.castr" });
 * if (made.isOk()) console.log(made.value.uniqueChunks, "distinct chunks");
 * ```
 */
export function makeIndex(
  source: string | Readable,
  options: MakeOptions = {},
): ResultAsync<MakeResult, CasyncError> {
  return makeIndexWith(source, options, {});
}

/** Internal bounds of {@link makeIndex}, lowered by tests. Not part of the package's API. */
export interface MakeInternals {
  readonly sortLimits?: SortLimits;
  /** Parent of the temporary work folder (default `os.tmpdir()`). */
  readonly tmpDir?: string;
}

/** {@link makeIndex} with its internal bounds given (for tests). */
export function makeIndexWith(
  source: string | Readable,
  options: MakeOptions,
  internals: MakeInternals,
): ResultAsync<MakeResult, CasyncError> {
  const name = typeof source === "string" ? source : "stream";
  return ResultAsync.fromPromise(run(source, options, internals), (e) =>
    toCasyncError(e, name, "make an index of"),
  );
}

interface Segment {
  readonly buffer: Buffer;
  /** Image offset of `buffer[0]`. */
  readonly base: number;
  readonly dataEnd: number;
  readonly atEnd: boolean;
  readonly result: Promise<SegmentResult>;
}

/**
 * Segments of SEGMENT bytes, each followed by `max` bytes of the next one, are
 * chunked in parallel by workers, each from its own first byte. Merging in
 * order follows the true chain of cuts: where it lands on a worker's cut the
 * two chains agree from there on (the chunker restarts at every cut); until
 * then the main thread cuts the few chunks itself.
 */
async function run(
  source: string | Readable,
  options: MakeOptions,
  internals: MakeInternals,
): Promise<MakeResult> {
  const paramsResult = chunkerParams(options.chunkSizes ?? DEFAULT_CHUNK_SIZES);
  if (paramsResult.isErr()) fail(paramsResult.error);
  const params = paramsResult.value;
  const { signal, onProgress } = options;
  const level = options.compressionLevel ?? 3;
  const pool = new ChunkPool(params, options.store, level, options.workers);
  let closed: Promise<void> | undefined;
  const closePool = () => {
    closed ??= pool.close();
    return closed;
  };
  const writer = options.store === undefined ? undefined : new LocalStoreWriter(options.store);
  const maxInflight = Math.max(2, options.concurrency ?? pool.size);
  // The main thread's chunk writes under way (removed when done: the set does not grow with the input).
  const mainWrites = new Set<Promise<void>>();
  // Every chunk file is created by link() (see putChunkFile), so exactly one writer reports a file
  // as new: a file that was in the store before the run is never reported, and nothing per chunk
  // id is kept here. A new file on casync's chain of cuts is counted when it is reported; one a
  // worker wrote for a cut off the chain waits here (about one per segment) and is counted at the end
  // if the index uses its id after all, else removed. Its size, by its id as a 32-character
  // latin1 string (a byte per character).
  const discarded = new Map<string, number>();
  let chunksStored = 0;
  let bytesStored = 0;
  const count = (size: number) => {
    chunksStored++;
    bytesStored += size;
  };
  const overlap = params.max;

  const input: BlockSource =
    typeof source === "string" ? await openFileSource(source) : streamSource(source);
  const bytesTotal =
    options.bytesTotal ??
    (typeof source === "string"
      ? await stat(source).then(
          (st) => (st.isFile() ? st.size : undefined),
          () => undefined,
        )
      : undefined);
  const queue: Segment[] = [];
  // Segment buffers are reused once chunked and merged: `concurrency` + 1 of them
  // whatever the input's size (one segment per worker: a second one queued saved no
  // time, measured in bench/results/casync-memory.md, and cost 4 MiB).
  const free: Buffer[] = [];
  let previous: { buffer: Buffer; base: number; dataEnd: number; atEnd: boolean } | undefined;
  const readSegment = async (): Promise<Segment | undefined> => {
    if (previous?.atEnd === true) return undefined;
    const buffer = free.pop() ?? Buffer.from(new SharedArrayBuffer(SEGMENT + overlap));
    let filled = 0;
    if (previous !== undefined) filled = previous.buffer.copy(buffer, 0, SEGMENT, previous.dataEnd);
    const r = await input.read(buffer, filled, buffer.length - filled);
    const base = previous === undefined ? 0 : previous.base + SEGMENT;
    const dataEnd = filled + r.bytes;
    const atEnd = r.ended;
    previous = { buffer, base, dataEnd, atEnd };
    const segEnd = atEnd ? dataEnd : SEGMENT;
    return {
      buffer,
      base,
      dataEnd,
      atEnd,
      result: pool.run(buffer.buffer as SharedArrayBuffer, dataEnd, segEnd, atEnd),
    };
  };

  const storeHere = async (data: Buffer, id: string, w: LocalStoreWriter) => {
    const size = await w.put(id, () => compressChunk(data, level));
    if (size > 0) count(size);
  };

  const { indexPath } = options;
  let workDir: string | undefined;
  let tableFile: string | undefined;
  let table: FileHandle | undefined;
  let renamed = false;
  const writing = <T>(p: Promise<T>): Promise<T> =>
    p.catch((e: unknown) => fail(ioError(e, indexPath ?? tableFile ?? "index", "write")));
  try {
    workDir = await mkdtemp(path.join(internals.tmpDir ?? tmpdir(), "lifeboat-casync-make-"));
    // The index is written as it is built: beside indexPath (renamed over it at the end, as
    // writeFileAtomic does), or in the work folder.
    tableFile =
      indexPath === undefined
        ? path.join(workDir, "index.caibx")
        : path.join(
            path.dirname(indexPath),
            `.${path.basename(indexPath)}.${process.pid}.${Date.now()}.tmp`,
          );
    table = await writing(open(tableFile, "w", 0o644));
    const built = new IndexWriter(table, DEFAULT_INDEX_FLAGS, {
      min: params.min,
      avg: params.avg,
      max: params.max,
    });
    let t = 0; // the next cut of the true chain
    for (;;) {
      checkAborted(signal, "chunking");
      while (queue.length < maxInflight) {
        const next = await readSegment();
        if (next === undefined) break;
        queue.push(next);
      }
      const segment = queue.shift();
      if (segment === undefined) break;
      const { buffer, base, dataEnd, atEnd } = segment;
      const r = await segment.result;
      const stop = base + (atEnd ? dataEnd : SEGMENT);
      const startAt = new Map<number, number>();
      for (let i = 0; i < r.ends.length; i++)
        startAt.set(i === 0 ? base : base + (r.ends[i - 1] as number), i);
      const used = new Uint8Array(r.ends.length);
      while (t < stop) {
        const i = startAt.get(t);
        if (i !== undefined) {
          for (let j = i; j < r.ends.length; j++) {
            const end = base + (r.ends[j] as number);
            built.push(end, r.ids, 32 * j);
            used[j] = 1;
            if ((r.stored[j] as number) > 0) count(r.stored[j] as number);
            t = end;
          }
          break;
        }
        const length = findChunkEnd(buffer, t - base, dataEnd, params, atEnd);
        const data = buffer.subarray(t - base, t - base + length);
        const id = chunkIdBytes(data);
        built.push(t + length, id, 0);
        if (writer !== undefined) {
          const write = storeHere(Buffer.from(data), Buffer.from(id).toString("hex"), writer);
          mainWrites.add(write);
          write.then(
            () => mainWrites.delete(write),
            () => {}, // kept: awaited (and thrown) below
          );
        }
        t += length;
      }
      for (let j = 0; j < r.ends.length; j++) {
        if (used[j] === 0 && (r.stored[j] as number) > 0)
          discarded.set(latin1(r.ids, 32 * j), r.stored[j] as number);
      }
      // Its worker is done with it, the next segment copied its overlap when it was read, and
      // the main thread's own writes took copies.
      free.push(buffer);
      await writing(built.settle());
      onProgress?.({
        type: "chunking",
        bytesRead: t,
        bytesTotal,
        chunks: built.count,
        chunksStored,
        bytesStored,
      });
    }
    await Promise.all([...mainWrites]);
    // The workers and their buffers are not needed any more: gone before the index is finished.
    await closePool();
    queue.length = 0;
    free.length = 0;
    await writing(built.finish());
    // The table is read back from the file: the ids sorted in bounded runs, and the few
    // discarded ones looked up on the way.
    const uniqueChunks = await countDistinctIds(tableFile, built.count, workDir, {
      limits: internals.sortLimits ?? DEFAULT_SORT_LIMITS,
      signal,
      onId: (items, at) => {
        if (discarded.size === 0) return;
        const key = items.toString("latin1", at, at + 32);
        const size = discarded.get(key);
        if (size === undefined) return;
        discarded.delete(key);
        count(size);
      },
    });
    if (writer !== undefined)
      for (const key of discarded.keys())
        await rm(path.join(writer.root, chunkPath(Buffer.from(key, "latin1").toString("hex"))), {
          force: true,
        });
    checkAborted(signal, "making an index");
    let bytes: Uint8Array | undefined;
    let read: () => Uint8Array;
    if (indexPath !== undefined) {
      const done = table;
      const dir = path.dirname(indexPath);
      const from = tableFile;
      await writing(
        (async () => {
          await done.sync();
          table = undefined;
          await done.close();
          await rename(from, indexPath);
          renamed = true;
          await fsyncDirectory(dir);
        })(),
      );
      read = () => {
        bytes ??= readFileSync(indexPath);
        return bytes;
      };
    } else {
      const done = table;
      table = undefined;
      await done.close();
      const held = await readFile(tableFile);
      read = () => held;
    }
    return {
      index: lazyIndex(DEFAULT_INDEX_FLAGS, built.chunkSizes, built.size, read),
      get indexBytes() {
        return read();
      },
      uniqueChunks,
      chunksStored,
      bytesStored,
    };
  } finally {
    await Promise.allSettled([...queue.map((s) => s.result), ...mainWrites]);
    await Promise.allSettled([input.close(), closePool(), table?.close()]);
    if (tableFile !== undefined && indexPath !== undefined && !renamed)
      await rm(tableFile, { force: true });
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  }
}

/** The 32-byte id at `ids[at]` as a 32-character latin1 string: a compact, exact map key. */
function latin1(ids: Uint8Array, at: number): string {
  return Buffer.from(ids.buffer, ids.byteOffset + at, 32).toString("latin1");
}
