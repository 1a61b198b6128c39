import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { workerScript } from "@lifeboat/core/lite";
import type { ChunkerParams } from "../chunker.js";
import type { ChunkJob, ChunkReply, ChunkWorkerData } from "./chunk-worker.js";

// chunk-worker.ts bundled to one script, put here by the build (tsup `define`,
// see scripts/bundle-defines.ts); run from the TypeScript sources (vitest,
// tsx), it is bundled the same way on first use.
declare const __LIFEBOAT_CHUNK_WORKER__: string | undefined;

function bundledWorker(): string {
  return workerScript(
    typeof __LIFEBOAT_CHUNK_WORKER__ === "string" ? __LIFEBOAT_CHUNK_WORKER__ : undefined,
    new URL("./chunk-worker.ts", import.meta.url),
  );
}

/** One segment's chain of chunks, cut from the segment's first byte. */
export interface SegmentResult {
  /** Chunk ends relative to the segment buffer's start. */
  readonly ends: Int32Array;
  /** 32 bytes per chunk. */
  readonly ids: Uint8Array;
  /** Compressed size when this worker wrote the chunk file, else 0. */
  readonly stored: Int32Array;
}

interface Pending {
  resolve(r: SegmentResult): void;
  reject(e: unknown): void;
}

/** Worker threads that chunk segments, hash chunks and, with a store, compress and write them. */
export class ChunkPool {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, Pending>();
  #seq = 0;

  /** How many worker threads there are. */
  get size(): number {
    return this.#workers.length;
  }

  constructor(
    params: ChunkerParams,
    store: string | undefined,
    level: number,
    size = Math.min(4, availableParallelism()),
  ) {
    const zstdPath = createRequire(import.meta.url).resolve("@mongodb-js/zstd");
    const workerData: ChunkWorkerData = { store, level, zstdPath, ...params };
    this.#workers = Array.from({ length: Math.max(1, size) }, () => {
      const worker = new Worker(bundledWorker(), {
        eval: true,
        workerData,
        // A small young generation: the compressed chunks a worker makes are short-lived (zstd's
        // output, outside the V8 heap), and collected sooner they do not add up per worker.
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
        // The bundle is a classic script, whatever `--input-type` the parent ran with.
        execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type")),
      });
      worker.on("message", (m: ChunkReply) => {
        const p = this.#pending.get(m.seq);
        if (p === undefined) return;
        this.#pending.delete(m.seq);
        if (m.error !== undefined) {
          p.reject(
            Object.assign(new Error(m.error.message), { code: m.error.code, path: m.error.path }),
          );
        } else {
          p.resolve({
            ends: m.ends as Int32Array,
            ids: m.ids as Uint8Array,
            stored: m.stored as Int32Array,
          });
        }
      });
      worker.on("error", (e) => {
        for (const p of this.#pending.values()) p.reject(e);
        this.#pending.clear();
      });
      return worker;
    });
  }

  /** Chunk `[0, segEnd)` of a shared segment buffer holding `dataEnd` valid bytes. */
  run(
    shared: SharedArrayBuffer,
    dataEnd: number,
    segEnd: number,
    atEnd: boolean,
  ): Promise<SegmentResult> {
    const seq = this.#seq++;
    const worker = this.#workers[seq % this.#workers.length] as Worker;
    return new Promise<SegmentResult>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      const job: ChunkJob = { seq, shared, dataEnd, segEnd, atEnd };
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
