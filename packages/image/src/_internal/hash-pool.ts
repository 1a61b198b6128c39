// A small pool of worker threads that read file ranges themselves and hash
// 4 KiB blocks as SHA-256(salt || block). Workers read (no data crosses threads),
// so both cores hash while the main thread only schedules and compares.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { workerScript } from "@lifeboat/core/lite";
import type { HashWorkerJob, HashWorkerReply } from "./hash-worker.js";

// hash-worker.ts bundled to one script, put here by the build (tsup `define`,
// see scripts/bundle-defines.ts); run from the TypeScript sources (vitest,
// tsx), it is bundled the same way on first use.
declare const __LIFEBOAT_HASH_WORKER__: string | undefined;

function bundledWorker(): string {
  return workerScript(
    typeof __LIFEBOAT_HASH_WORKER__ === "string" ? __LIFEBOAT_HASH_WORKER__ : undefined,
    new URL("./hash-worker.ts", import.meta.url),
  );
}

export interface HashJob {
  readonly path: string;
  readonly offset: number;
  readonly blocks: number;
  readonly blockSize: number;
  readonly salt: Uint8Array;
  /** When given (blocks * 32 bytes), the worker compares instead of returning digests. */
  readonly expected?: Uint8Array;
}

export type HashResult =
  | { readonly kind: "digests"; readonly digests: Buffer; readonly bytesRead: number }
  | { readonly kind: "match"; readonly bytesRead: number }
  | { readonly kind: "mismatch"; readonly block: number; readonly actual: string };

interface Pending {
  resolve(r: HashResult): void;
  reject(e: Error): void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

class HashPool {
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #turn = 0;

  constructor(readonly size: number) {}

  #slot(): Slot {
    if (this.#slots.length < this.size) {
      const worker = new Worker(bundledWorker(), {
        eval: true,
        // The bundle is a classic script, whatever `--input-type` the parent ran with.
        execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type")),
      });
      const slot: Slot = { worker, pending: new Map() };
      worker.on("message", (m: HashWorkerReply) => {
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        if (slot.pending.size === 0) worker.unref();
        if (typeof m.error === "string") {
          const e = Object.assign(new Error(m.error), { code: m.errno });
          p.reject(e);
        } else if (m.digests) {
          const d = m.digests;
          p.resolve({
            kind: "digests",
            digests: Buffer.from(d.buffer, d.byteOffset, d.byteLength),
            bytesRead: m.bytesRead as number,
          });
        } else if ((m.bad as number) >= 0) {
          p.resolve({ kind: "mismatch", block: m.bad as number, actual: m.actual as string });
        } else p.resolve({ kind: "match", bytesRead: m.bytesRead as number });
      });
      worker.on("error", (e) => {
        for (const p of slot.pending.values()) p.reject(e);
        slot.pending.clear();
        const i = this.#slots.indexOf(slot);
        if (i >= 0) this.#slots.splice(i, 1);
      });
      worker.unref();
      this.#slots.push(slot);
      return slot;
    }
    // Least loaded worker, round robin among equals.
    let best = this.#slots[this.#turn++ % this.#slots.length]!;
    for (const s of this.#slots) if (s.pending.size < best.pending.size) best = s;
    return best;
  }

  run(job: HashJob): Promise<HashResult> {
    const slot = this.#slot();
    const id = this.#nextId++;
    return new Promise<HashResult>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      const message: HashWorkerJob = {
        id,
        path: job.path,
        offset: job.offset,
        blocks: job.blocks,
        blockSize: job.blockSize,
        salt: job.salt,
        expected: job.expected,
      };
      slot.worker.postMessage(message);
    });
  }
}

const pools = new Map<number, HashPool>();

/** The shared pool with `threads` workers (default: available cores, at most 4). */
export function hashPool(threads?: number): HashPool {
  const size = Math.max(1, Math.min(threads ?? Math.min(availableParallelism(), 4), 16));
  let pool = pools.get(size);
  if (!pool) {
    pool = new HashPool(size);
    pools.set(size, pool);
  }
  return pool;
}

export type { HashPool };
