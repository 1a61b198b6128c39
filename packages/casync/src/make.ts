/**
 * Make a casync blob index (and fill a chunk store) from an image file or stream.
 *
 * @module
 */
import type { Readable } from "node:stream";
import { writeFileAtomic } from "@lifeboat/core";
import { ResultAsync } from "neverthrow";
import { chunkId } from "./_internal/chunk-id.js";
import { compressChunk } from "./_internal/compression.js";
import { checkAborted, fail, toCasyncError } from "./_internal/failure.js";
import { LocalStoreWriter } from "./_internal/local-store.js";
import { type BlockSource, openFileSource, streamSource } from "./_internal/reader.js";
import { scanChunks } from "./_internal/scan.js";
import { type ChunkSizes, chunkerParams, DEFAULT_CHUNK_SIZES } from "./chunker.js";
import type { CasyncError } from "./errors.js";
import {
  type CasyncIndex,
  DEFAULT_INDEX_FLAGS,
  encodeIndex,
  type IndexChunk,
} from "./index-format.js";

/** Progress of {@link makeIndex}. */
export type MakeProgress = {
  readonly type: "chunking";
  /** Bytes of the image chunked so far. */
  readonly bytesRead: number;
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
  /** zstd level of stored chunks (default 3, as casync). */
  readonly compressionLevel?: number;
  /** Chunks compressed and written at once (default 8). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: MakeProgress) => void;
}

/** What {@link makeIndex} made. */
export interface MakeResult {
  readonly index: CasyncIndex;
  /** The encoded `.caibx` bytes. */
  readonly indexBytes: Uint8Array;
  /** Distinct chunks in the image. */
  readonly uniqueChunks: number;
  /** Chunks that were not in the store before and were written. */
  readonly chunksStored: number;
  /** Compressed bytes of the chunks written. */
  readonly bytesStored: number;
}

const PROGRESS_EVERY = 64 * 1024 * 1024;

/**
 * Chunk an image exactly as `casync make` does, hash every chunk (SHA-512/256),
 * write new chunks zstd-compressed into a store and return (and optionally
 * write) the index. Streams: memory stays at a few blocks whatever the size.
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

async function run(source: string | Readable, options: MakeOptions): Promise<MakeResult> {
  const paramsResult = chunkerParams(options.chunkSizes ?? DEFAULT_CHUNK_SIZES);
  if (paramsResult.isErr()) fail(paramsResult.error);
  const params = paramsResult.value;
  const level = options.compressionLevel ?? 3;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const { signal, onProgress } = options;
  const writer = options.store === undefined ? undefined : new LocalStoreWriter(options.store);
  const chunks: IndexChunk[] = [];
  const seen = new Set<string>();
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let chunksStored = 0;
  let bytesStored = 0;
  let nextProgress = PROGRESS_EVERY;

  const store = async (id: string, data: Buffer, w: LocalStoreWriter) => {
    if (await w.has(id)) return;
    const compressed = await compressChunk(data, level);
    await w.put(id, compressed);
    chunksStored++;
    bytesStored += compressed.length;
  };

  const input: BlockSource =
    typeof source === "string" ? await openFileSource(source) : streamSource(source);
  try {
    const total = await scanChunks(
      input,
      params,
      async (offset, data) => {
        const id = chunkId(data);
        chunks.push({ offset, size: data.length, id });
        if (offset + data.length >= nextProgress) {
          nextProgress += PROGRESS_EVERY;
          onProgress?.({
            type: "chunking",
            bytesRead: offset + data.length,
            chunks: chunks.length,
            chunksStored,
            bytesStored,
          });
        }
        if (writer === undefined || seen.has(id)) return;
        seen.add(id);
        if (failure !== undefined) throw failure;
        const task = store(id, data, writer).then(
          () => {
            inflight.delete(task);
          },
          (e) => {
            inflight.delete(task);
            failure ??= e;
          },
        );
        inflight.add(task);
        if (inflight.size >= concurrency) await Promise.race(inflight);
      },
      signal,
    );
    await Promise.all(inflight);
    if (failure !== undefined) throw failure;
    checkAborted(signal, "making an index");
    if (writer === undefined) for (const c of chunks) seen.add(c.id);
    const index: CasyncIndex = {
      featureFlags: DEFAULT_INDEX_FLAGS,
      chunkSizes: { min: params.min, avg: params.avg, max: params.max },
      chunks,
      size: total,
    };
    const indexBytes = encodeIndex(index);
    if (options.indexPath !== undefined) {
      const written = await writeFileAtomic(options.indexPath, indexBytes);
      if (written.isErr()) fail(written.error);
    }
    onProgress?.({
      type: "chunking",
      bytesRead: total,
      chunks: chunks.length,
      chunksStored,
      bytesStored,
    });
    return { index, indexBytes, uniqueChunks: seen.size, chunksStored, bytesStored };
  } finally {
    await Promise.allSettled(inflight);
    await input.close();
  }
}
