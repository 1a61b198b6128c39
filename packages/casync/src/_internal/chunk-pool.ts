import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ChunkerParams } from "../chunker.js";
import { CHUNKER_SOURCE } from "./chunker-source.js";

// Plain JavaScript evaluated from a string, so it runs the same from the TypeScript
// sources (tests) and from the built package, and shares the chunker's source.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash, randomBytes } = require("node:crypto");
const fsp = require("node:fs/promises");
const path = require("node:path");
const cut = (function () {${CHUNKER_SOURCE}})();
const zstd = require(workerData.zstdPath);
const { store, level, min, avg, max, discriminator } = workerData;
const seen = new Set();
const dirs = new Set();
async function put(hex, data) {
  const dir = path.join(store, hex.slice(0, 4));
  const target = path.join(dir, hex + ".cacnk");
  try { await fsp.stat(target); return 0; } catch {}
  const compressed = await zstd.compress(data, level);
  if (!dirs.has(dir)) { await fsp.mkdir(dir, { recursive: true }); dirs.add(dir); }
  const temp = path.join(dir, "." + hex + "." + randomBytes(4).toString("hex") + ".tmp");
  try {
    await fsp.writeFile(temp, compressed);
    await fsp.rename(temp, target);
  } catch (e) {
    await fsp.rm(temp, { force: true });
    throw e;
  }
  return compressed.length;
}
parentPort.on("message", async ({ seq, shared, dataEnd, segEnd, atEnd }) => {
  try {
    const bytes = new Uint8Array(shared);
    const ends = [];
    let pos = 0;
    while (pos < segEnd) {
      const n = cut(bytes, pos, dataEnd, min, avg, max, discriminator, atEnd);
      if (n <= 0) break;
      pos += n;
      ends.push(pos);
    }
    const ids = Buffer.allocUnsafe(32 * ends.length);
    const stored = new Int32Array(ends.length);
    const writes = [];
    for (let i = 0, start = 0; i < ends.length; start = ends[i], i++) {
      const data = Buffer.from(shared, start, ends[i] - start);
      const digest = createHash("sha512-256").update(data).digest();
      digest.copy(ids, 32 * i);
      if (store !== undefined) {
        const hex = digest.toString("hex");
        if (!seen.has(hex)) {
          seen.add(hex);
          writes.push(put(hex, data).then((size) => { stored[i] = size; }));
        }
      }
    }
    await Promise.all(writes);
    parentPort.postMessage({ seq, ends: Int32Array.from(ends), ids, stored });
  } catch (e) {
    parentPort.postMessage({ seq, error: { message: String(e && e.message), code: e && e.code, path: e && e.path } });
  }
});
`;

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

interface WorkerReply {
  seq: number;
  ends?: Int32Array;
  ids?: Uint8Array;
  stored?: Int32Array;
  error?: { message: string; code?: string; path?: string };
}

/** Worker threads that chunk segments, hash chunks and, with a store, compress and write them. */
export class ChunkPool {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, Pending>();
  #seq = 0;

  constructor(
    params: ChunkerParams,
    store: string | undefined,
    level: number,
    size = Math.min(4, availableParallelism()),
  ) {
    const zstdPath = createRequire(import.meta.url).resolve("@mongodb-js/zstd");
    const workerData = { store, level, zstdPath, ...params };
    this.#workers = Array.from({ length: Math.max(1, size) }, () => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData,
        // The source is a CommonJS script, whatever `--input-type` the parent ran with.
        execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type")),
      });
      worker.on("message", (m: WorkerReply) => {
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
      worker.postMessage({ seq, shared, dataEnd, segEnd, atEnd });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
