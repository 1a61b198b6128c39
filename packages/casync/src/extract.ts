/**
 * Rebuild an image from a casync index: chunks from a partial earlier attempt,
 * then from seeds (files already on disk), then from stores (folders or
 * HTTP(S) URLs), every chunk verified by its id; written to `<output>.part`
 * and renamed into place only when complete.
 *
 * @module
 */
import { type FileHandle, open, readFile, rename } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory } from "@lifeboat/core/lite";
import { ResultAsync } from "neverthrow";
import { chunkId } from "./_internal/chunk-id.js";
import { checkAborted, fail, toCasyncError } from "./_internal/failure.js";
import { fetchChunk } from "./_internal/fetch-chunk.js";
import { openFileSource } from "./_internal/reader.js";
import { scanChunks } from "./_internal/scan.js";
import { chunkerParams } from "./chunker.js";
import type { CasyncChunkMismatchError, CasyncError } from "./errors.js";
import { type CasyncIndex, parseIndex } from "./index-format.js";
import type { ChunkStore } from "./store.js";

/** Where the bytes of an extraction came from so far. Sent after every chunk. */
export interface ExtractProgress {
  readonly type: "extracting";
  /** `resume`: checking a partial earlier attempt; `seed`: scanning seeds; `fetch`: getting chunks from stores. */
  readonly phase: "resume" | "seed" | "fetch";
  /** Image bytes already correct in `<output>.part` from an interrupted run. */
  readonly bytesFromResume: number;
  /** Image bytes copied from seeds. */
  readonly bytesFromSeeds: number;
  /** Image bytes that came from stores (uncompressed). */
  readonly bytesFromStores: number;
  /** Compressed bytes transferred from stores. */
  readonly bytesDownloaded: number;
  /** Bytes written to the output file. */
  readonly bytesWritten: number;
  readonly totalBytes: number;
}

/** Options of {@link extractImage}. */
export interface ExtractOptions {
  /** Stores tried in order for each chunk: folders or `http(s)://` base URLs. */
  readonly stores: readonly ChunkStore[];
  /** Files whose matching chunks are copied instead of fetched (e.g. the current recovery image). */
  readonly seeds?: readonly string[];
  /** Reuse verified chunks of an existing `<output>.part` (default true). */
  readonly resume?: boolean;
  /** Chunks fetched at once (default 8). */
  readonly concurrency?: number;
  /** Extra attempts per store after a failed or corrupt fetch (default 4). */
  readonly retries?: number;
  /** First retry delay in ms, doubled each time (default 200). */
  readonly backoffMs?: number;
  /** Per-request timeout in ms (default 30000). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ExtractProgress) => void;
}

/** What {@link extractImage} did. */
export interface ExtractResult {
  readonly size: number;
  readonly bytesFromResume: number;
  readonly bytesFromSeeds: number;
  readonly bytesFromStores: number;
  readonly bytesDownloaded: number;
  readonly bytesWritten: number;
  /** Store requests made (retries included). */
  readonly requests: number;
}

interface Needed {
  readonly size: number;
  readonly offsets: number[];
}

/**
 * Extract an image from an index (a `.caibx` path or a parsed index).
 *
 * @example
 * ```ts
 * const r = await extractImage("v2.caibx", "/recovery/image.img", {
 *   stores: ["https://updates.example.com/store.castr/"],
 *   seeds: ["/recovery/image.img"],
 *   onProgress: (p) => console.log(p.bytesWritten, "/", p.totalBytes),
 * });
 * if (r.isErr()) console.error(r.error.code);
 * ```
 */
export function extractImage(
  index: string | CasyncIndex,
  output: string,
  options: ExtractOptions,
): ResultAsync<ExtractResult, CasyncError> {
  return ResultAsync.fromPromise(run(index, output, options), (e) =>
    toCasyncError(e, output, "extract"),
  );
}

async function loadIndex(index: string | CasyncIndex): Promise<CasyncIndex> {
  if (typeof index !== "string") return index;
  const parsed = parseIndex(await readFile(index), index);
  if (parsed.isErr()) fail(parsed.error);
  return parsed.value;
}

async function run(
  indexSource: string | CasyncIndex,
  output: string,
  options: ExtractOptions,
): Promise<ExtractResult> {
  const { signal } = options;
  const index = await loadIndex(indexSource);
  const params = chunkerParams(index.chunkSizes);
  if (params.isErr()) fail(params.error);
  const needed = new Map<string, Needed>();
  for (const c of index.chunks) {
    const entry = needed.get(c.id);
    if (entry === undefined) needed.set(c.id, { size: c.size, offsets: [c.offset] });
    else if (entry.size !== c.size) fail(mismatch(c.id, c.offset, c.size, entry.size, "the index"));
    else entry.offsets.push(c.offset);
  }
  const stats = {
    bytesFromResume: 0,
    bytesFromSeeds: 0,
    bytesFromStores: 0,
    bytesDownloaded: 0,
    bytesWritten: 0,
    requests: 0,
  };
  let phase: ExtractProgress["phase"] = "resume";
  const report = () =>
    options.onProgress?.({ type: "extracting", phase, ...stats, totalBytes: index.size });

  const partial = `${output}.part`;
  const handle = await open(partial, options.resume === false ? "w+" : "a+").then(async (h) => {
    await h.close(); // "a+" creates without truncating; reopen for positional writes
    return open(partial, "r+");
  });
  try {
    const existing = (await handle.stat()).size;
    await handle.truncate(index.size);
    const writeAll = async (data: Uint8Array, offsets: readonly number[]) => {
      for (const offset of offsets) {
        await handle.write(data, 0, data.length, offset);
        stats.bytesWritten += data.length;
      }
    };

    if (existing > 0)
      await resumePass(
        handle,
        needed,
        Math.min(existing, index.size),
        stats,
        report,
        signal,
        writeAll,
      );

    phase = "seed";
    for (const seed of options.seeds ?? []) {
      if (needed.size === 0) break;
      const source = await openFileSource(seed);
      try {
        await scanChunks(
          source,
          params.value,
          async (_offset, data) => {
            const id = chunkId(data);
            const entry = needed.get(id);
            if (entry === undefined || entry.size !== data.length) return;
            needed.delete(id);
            await writeAll(data, entry.offsets);
            stats.bytesFromSeeds += data.length * entry.offsets.length;
            report();
          },
          signal,
        );
      } finally {
        await source.close();
      }
    }

    phase = "fetch";
    const policy = {
      retries: options.retries ?? 4,
      backoffMs: options.backoffMs ?? 200,
      timeoutMs: options.timeoutMs ?? 30_000,
      signal,
    };
    const queue = [...needed.entries()];
    let cursor = 0;
    let stopped = false;
    const worker = async () => {
      while (!stopped && cursor < queue.length) {
        const next = queue[cursor++];
        if (next === undefined) break;
        checkAborted(signal, "downloading chunks");
        const [id, entry] = next;
        const got = await fetchChunk(id, options.stores, policy).catch((e: unknown) => {
          stopped = true;
          throw e;
        });
        stats.requests += got.requests;
        stats.bytesDownloaded += got.transferred;
        if (got.data.length !== entry.size) {
          stopped = true;
          fail(mismatch(id, entry.offsets[0] ?? 0, entry.size, got.data.length, "its data"));
        }
        await writeAll(got.data, entry.offsets);
        stats.bytesFromStores += got.data.length * entry.offsets.length;
        needed.delete(id);
        report();
      }
    };
    const workers = Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker);
    const settled = await Promise.allSettled(workers);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    checkAborted(signal, "extracting");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, output);
  await fsyncDirectory(path.dirname(path.resolve(output)));
  return { size: index.size, ...stats };
}

function mismatch(
  chunkId: string,
  offset: number,
  expectedSize: number,
  actualSize: number,
  from: string,
): CasyncChunkMismatchError {
  return {
    code: "CASYNC_CHUNK_MISMATCH",
    message: `Chunk ${chunkId} at offset ${offset} is ${actualSize} bytes by ${from}, but the index says ${expectedSize}: the index is wrong (casync: "Bad message"); the output is left untouched.`,
    chunkId,
    offset,
    expectedSize,
    actualSize,
  };
}

/** Keep every chunk of an interrupted run that is already correct in the partial file. */
async function resumePass(
  handle: FileHandle,
  needed: Map<string, Needed>,
  existing: number,
  stats: { bytesFromResume: number },
  report: () => void,
  signal: AbortSignal | undefined,
  writeAll: (data: Uint8Array, offsets: readonly number[]) => Promise<void>,
): Promise<void> {
  let buffer = Buffer.allocUnsafe(256 * 1024);
  for (const [id, entry] of [...needed.entries()]) {
    checkAborted(signal, "checking the partial image");
    if (buffer.length < entry.size) buffer = Buffer.allocUnsafe(entry.size);
    const good: number[] = [];
    const bad: number[] = [];
    let data: Buffer | undefined;
    for (const offset of entry.offsets) {
      if (offset + entry.size > existing) {
        bad.push(offset);
        continue;
      }
      const view = buffer.subarray(0, entry.size);
      await handle.read(view, 0, entry.size, offset);
      if (chunkId(view) === id) {
        good.push(offset);
        data ??= Buffer.from(view);
      } else bad.push(offset);
    }
    if (data === undefined) continue;
    needed.delete(id);
    stats.bytesFromResume += entry.size * good.length;
    await writeAll(data, bad);
    report();
  }
}
