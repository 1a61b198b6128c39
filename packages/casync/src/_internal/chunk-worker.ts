// A chunking worker thread of `ChunkPool`: cuts a shared segment into chunks,
// hashes each and, with a store, compresses and writes the chunk files it has
// not seen. Bundled into the package's build (see chunk-pool.ts).
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import { cut } from "./cut.js";
import { putChunkFile } from "./local-store.js";

/** What a chunk worker is started with. */
export interface ChunkWorkerData {
  readonly store: string | undefined;
  readonly level: number;
  /** Resolved by the parent: an eval'd worker cannot resolve packages itself. */
  readonly zstdPath: string;
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  readonly discriminator: number;
}

/** One segment to chunk: `[0, segEnd)` of `shared`, which holds `dataEnd` valid bytes. */
export interface ChunkJob {
  readonly seq: number;
  readonly shared: SharedArrayBuffer;
  readonly dataEnd: number;
  readonly segEnd: number;
  readonly atEnd: boolean;
}

/** A segment's chunks, or why it failed. */
export interface ChunkReply {
  readonly seq: number;
  readonly ends?: Int32Array;
  readonly ids?: Uint8Array;
  readonly stored?: Int32Array;
  readonly error?: { readonly message: string; readonly code?: string; readonly path?: string };
}

interface Zstd {
  compress(data: Buffer, level: number): Promise<Buffer>;
}

const port = parentPort;
const data = workerData as ChunkWorkerData;
const zstd = createRequire(data.zstdPath)(data.zstdPath) as Zstd;
const { store, level, min, avg, max, discriminator } = data;
// Chunk ids this worker wrote lately: saves a stat per repeated chunk. Kept
// small and forgotten when full, so it does not grow with the input (a set of
// every id and of every chunk directory came to megabytes per GiB per worker).
const SEEN = 4096;
const seen = new Set<string>();

// At most PUTS chunks of this worker are being compressed and written at once: a
// segment's hundred-odd chunks all at once held a hundred compressed copies and
// zstd contexts (makeIndex's memory is bounded by this, not by the input's size).
const PUTS = 4;
let active = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= PUTS) await new Promise<void>((resolve) => waiting.push(resolve));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

async function chunk({ seq, shared, dataEnd, segEnd, atEnd }: ChunkJob): Promise<ChunkReply> {
  const bytes = new Uint8Array(shared);
  const ends: number[] = [];
  let pos = 0;
  while (pos < segEnd) {
    const n = cut(bytes, pos, dataEnd, min, avg, max, discriminator, atEnd);
    if (n <= 0) break;
    pos += n;
    ends.push(pos);
  }
  const ids = Buffer.allocUnsafe(32 * ends.length);
  const stored = new Int32Array(ends.length);
  const writes: Promise<void>[] = [];
  for (let i = 0, start = 0; i < ends.length; start = ends[i] as number, i++) {
    const part = Buffer.from(shared, start, (ends[i] as number) - start);
    const digest = createHash("sha512-256").update(part).digest();
    digest.copy(ids, 32 * i);
    if (store !== undefined) {
      const hex = digest.toString("hex");
      if (!seen.has(hex)) {
        // Only saves a stat of a chunk file this worker wrote; forgetting keeps memory flat.
        if (seen.size >= SEEN) seen.clear();
        seen.add(hex);
        writes.push(
          limited(() => putChunkFile(store, hex, () => zstd.compress(part, level))).then((size) => {
            stored[i] = size;
          }),
        );
      }
    }
  }
  await Promise.all(writes);
  return { seq, ends: Int32Array.from(ends), ids, stored };
}

port?.on("message", (job: ChunkJob) => {
  chunk(job).then(
    (reply) => port.postMessage(reply),
    (e: NodeJS.ErrnoException) =>
      port.postMessage({
        seq: job.seq,
        error: { message: String(e?.message), code: e?.code, path: e?.path },
      }),
  );
});
