/**
 * Make a casync blob index (and fill a chunk store) from an image file or stream.
 *
 * @module
 */

import { rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { writeFileAtomic } from "@lifeboat/core/lite";
import { ResultAsync } from "neverthrow";
import { chunkIdBytes } from "./_internal/chunk-id.js";
import { ChunkPool, type SegmentResult } from "./_internal/chunk-pool.js";
import { compressChunk } from "./_internal/compression.js";
import { checkAborted, fail, toCasyncError } from "./_internal/failure.js";
import { IndexBuilder } from "./_internal/index-builder.js";
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
  /** Write the `.caibx` index here (atomically). */
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
  readonly index: CasyncIndex;
  /** The encoded `.caibx` bytes. */
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
 * write new chunks zstd-compressed into a store and return (and optionally
 * write) the index. Streams: memory stays at a few blocks plus the index
 * itself, kept as its 40-byte `.caibx` items (640 KiB per GiB of image).
 *
 * @example
 * ```ts
 * const made = await makeIndex("recovery.img", { indexPath: "recovery.caibx", store: "default.castr" });
 * if (made.isOk()) console.log(made.value.index.chunks.length, "chunks");
 * ```
 */
export function makeIndex(
  source: string | Readable,
  options: MakeOptions = {},
): ResultAsync<MakeResult, CasyncError> {
  const name = typeof source === "string" ? source : "stream";
  return ResultAsync.fromPromise(run(source, options), (e) =>
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
async function run(source: string | Readable, options: MakeOptions): Promise<MakeResult> {
  const paramsResult = chunkerParams(options.chunkSizes ?? DEFAULT_CHUNK_SIZES);
  if (paramsResult.isErr()) fail(paramsResult.error);
  const params = paramsResult.value;
  const { signal, onProgress } = options;
  const level = options.compressionLevel ?? 3;
  const pool = new ChunkPool(params, options.store, level, options.workers);
  const writer = options.store === undefined ? undefined : new LocalStoreWriter(options.store);
  const maxInflight = Math.max(2, options.concurrency ?? pool.size);
  const built = new IndexBuilder();
  // Ids are kept as 32-character latin1 strings (a byte per character): half a hex string's size.
  const discarded = new Set<string>(); // chunk files workers wrote for cuts off the true chain
  const mainWrites: Promise<void>[] = [];
  // Compressed size of every chunk file this run wrote and has not counted yet, whoever wrote it (a
  // worker, for a cut on the true chain or off it, or the main thread). A file that was in the
  // store before the run is never written, so the new chunks are the index's ids in here: the same
  // set whatever the races.
  const written = new Map<string, number>();
  // Every distinct id of the index, and whether its new file was counted.
  const kept = new Map<string, boolean>();
  let chunksStored = 0;
  let bytesStored = 0;
  const count = (key: string) => {
    const size = written.get(key);
    if (size === undefined || kept.get(key) !== false) return;
    kept.set(key, true);
    written.delete(key);
    chunksStored++;
    bytesStored += size;
  };
  const take = (end: number, ids: Uint8Array, at: number) => {
    built.push(end, ids, at);
    const key = latin1(ids, at);
    if (!kept.has(key)) kept.set(key, false);
    count(key);
    return key;
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

  const storeHere = async (key: string, data: Buffer, w: LocalStoreWriter) => {
    const id = Buffer.from(key, "latin1").toString("hex");
    if (await w.has(id)) return;
    const compressed = await compressChunk(data, level);
    await w.put(id, compressed);
    written.set(key, compressed.length);
  };

  try {
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
      for (let j = 0; j < r.ends.length; j++) {
        const size = r.stored[j] as number;
        if (size > 0) written.set(latin1(r.ids, 32 * j), size);
      }
      while (t < stop) {
        const i = startAt.get(t);
        if (i !== undefined) {
          for (let j = i; j < r.ends.length; j++) {
            const end = base + (r.ends[j] as number);
            take(end, r.ids, 32 * j);
            used[j] = 1;
            t = end;
          }
          break;
        }
        const length = findChunkEnd(buffer, t - base, dataEnd, params, atEnd);
        const data = buffer.subarray(t - base, t - base + length);
        const key = take(t + length, chunkIdBytes(data), 0);
        if (writer !== undefined) mainWrites.push(storeHere(key, Buffer.from(data), writer));
        t += length;
      }
      for (let j = 0; j < r.ends.length; j++) {
        if (used[j] === 0 && (r.stored[j] as number) > 0) discarded.add(latin1(r.ids, 32 * j));
      }
      // Its worker is done with it, the next segment copied its overlap when it was read, and
      // the main thread's own writes took copies.
      free.push(buffer);
      onProgress?.({
        type: "chunking",
        bytesRead: t,
        bytesTotal,
        chunks: built.count,
        chunksStored,
        bytesStored,
      });
    }
    await Promise.all(mainWrites);
    if (writer !== undefined && discarded.size > 0) {
      for (const key of discarded)
        if (!kept.has(key))
          await rm(path.join(writer.root, chunkPath(Buffer.from(key, "latin1").toString("hex"))), {
            force: true,
          });
    }
    for (const key of written.keys()) count(key); // chunks the main thread wrote, now that their writes are done
    checkAborted(signal, "making an index");
    const { index, bytes: indexBytes } = built.finish(DEFAULT_INDEX_FLAGS, {
      min: params.min,
      avg: params.avg,
      max: params.max,
    });
    if (options.indexPath !== undefined) {
      const indexPath = options.indexPath;
      const saved = await writeFileAtomic(indexPath, indexBytes);
      if (saved.isErr()) fail(saved.error);
    }
    return {
      index,
      indexBytes,
      uniqueChunks: kept.size,
      chunksStored,
      bytesStored,
    };
  } finally {
    await Promise.allSettled([...queue.map((s) => s.result), ...mainWrites]);
    await Promise.allSettled([input.close(), pool.close()]);
  }
}

/** The 32-byte id at `ids[at]` as a 32-character latin1 string: a compact, exact map key. */
function latin1(ids: Uint8Array, at: number): string {
  return Buffer.from(ids.buffer, ids.byteOffset + at, 32).toString("latin1");
}
