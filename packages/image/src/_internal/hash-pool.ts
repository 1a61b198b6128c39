// A small pool of worker threads that read file ranges themselves and hash
// 4 KiB blocks as SHA-256(salt || block). Workers read (no data crosses threads),
// so both cores hash while the main thread only schedules and compares.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

// Plain JS (eval worker): works from TypeScript sources, tsx, vitest and the tsup bundle alike.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const crypto = require("node:crypto");
const oneShot = typeof crypto.hash === "function";
let buf = Buffer.alloc(0);
parentPort.on("message", (job) => {
  try {
    const { id, path, offset, blocks, blockSize, expected } = job;
    const salt = Buffer.from(job.salt);
    const need = blocks * blockSize;
    if (buf.length < need) buf = Buffer.allocUnsafe(need);
    let got = 0;
    const fd = fs.openSync(path, "r");
    try {
      while (got < need) {
        const n = fs.readSync(fd, buf, got, need - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally { fs.closeSync(fd); }
    if (got < need) buf.fill(0, got, need);
    const tmp = Buffer.allocUnsafe(salt.length + blockSize);
    salt.copy(tmp, 0);
    const exp = expected ? Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength) : null;
    const out = exp ? null : Buffer.allocUnsafe(blocks * 32);
    for (let i = 0; i < blocks; i++) {
      buf.copy(tmp, salt.length, i * blockSize, (i + 1) * blockSize);
      const d = oneShot ? crypto.hash("sha256", tmp, "buffer") : crypto.createHash("sha256").update(tmp).digest();
      if (exp) {
        if (exp.compare(d, 0, 32, i * 32, i * 32 + 32) !== 0) {
          parentPort.postMessage({ id, bad: i, actual: d.toString("hex"), bytesRead: got });
          return;
        }
      } else d.copy(out, i * 32);
    }
    if (out) parentPort.postMessage({ id, digests: out, bytesRead: got }, [out.buffer]);
    else parentPort.postMessage({ id, bad: -1, bytesRead: got });
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: String(e && e.message || e), errno: e && e.code });
  }
});
`;

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
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      const slot: Slot = { worker, pending: new Map() };
      worker.on("message", (m: { id: number } & Record<string, unknown>) => {
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        if (slot.pending.size === 0) worker.unref();
        if (typeof m.error === "string") {
          const e = Object.assign(new Error(m.error), { code: m.errno });
          p.reject(e);
        } else if (m.digests) {
          const d = m.digests as Uint8Array;
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
      slot.worker.postMessage({
        id,
        path: job.path,
        offset: job.offset,
        blocks: job.blocks,
        blockSize: job.blockSize,
        salt: job.salt,
        expected: job.expected,
      });
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
