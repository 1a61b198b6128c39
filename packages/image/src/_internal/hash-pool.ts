// A small pool of worker threads that read file ranges themselves and hash
// 4 KiB blocks as SHA-256(salt || block). Workers read (no data crosses threads),
// so both cores hash while the main thread only schedules and compares.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

// Plain JS (eval worker): works from TypeScript sources, tsx, vitest and the tsup bundle alike.
// Dynamic imports inside an async function: valid whether the worker's eval code is
// run as CommonJS (default) or as a module (a parent started with --input-type=module).
const WORKER_SOURCE = `
(async () => {
const { parentPort } = await import("node:worker_threads");
const fs = await import("node:fs");
const crypto = await import("node:crypto");
const oneShot = typeof crypto.hash === "function";
// Blocks are read (readv) straight behind a copy of the salt: slot i = salt || block i,
// so each digest is one call over a contiguous slot and nothing is copied.
let layout = { saltHex: "", blockSize: 0, blocks: 0, big: null, iov: [] };
function layoutFor(salt, blockSize, blocks) {
  const hexSalt = salt.toString("hex");
  if (layout.saltHex === hexSalt && layout.blockSize === blockSize && layout.blocks >= blocks) return layout;
  const stride = salt.length + blockSize;
  const big = Buffer.allocUnsafe(stride * blocks);
  const iov = [];
  for (let i = 0; i < blocks; i++) {
    salt.copy(big, i * stride);
    iov.push(big.subarray(i * stride + salt.length, (i + 1) * stride));
  }
  layout = { saltHex: hexSalt, blockSize, blocks, big, iov, stride, saltLen: salt.length };
  return layout;
}
parentPort.on("message", (job) => {
  try {
    const { id, path, offset, blocks, blockSize, expected } = job;
    const salt = Buffer.from(job.salt);
    const L = layoutFor(salt, blockSize, blocks);
    const need = blocks * blockSize;
    const iov = blocks === L.iov.length ? L.iov : L.iov.slice(0, blocks);
    let got = 0;
    const fd = fs.openSync(path, "r");
    try {
      got = fs.readvSync(fd, iov, offset);
      while (got < need) {
        // Short read: finish block by block (end of file, or a signal).
        const b = Math.floor(got / blockSize);
        const n = fs.readSync(fd, L.iov[b], got - b * blockSize, blockSize - (got - b * blockSize), offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally { fs.closeSync(fd); }
    if (got < need) {
      const b = Math.floor(got / blockSize);
      L.iov[b].fill(0, got - b * blockSize);
      for (let i = b + 1; i < blocks; i++) L.iov[i].fill(0);
    }
    // Digests as 32-char latin1 strings: cheaper to make than Buffers (measured ~20%),
    // compared in place with startsWith, written into the output with one call each.
    const exp = expected ? Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength).toString("latin1") : null;
    const out = exp ? null : Buffer.allocUnsafe(blocks * 32);
    const stride = L.stride;
    const big = L.big;
    for (let i = 0; i < blocks; i++) {
      const slot = big.subarray(i * stride, (i + 1) * stride);
      const d = oneShot ? crypto.hash("sha256", slot, "latin1") : crypto.createHash("sha256").update(slot).digest("latin1");
      if (exp !== null) {
        if (!exp.startsWith(d, i * 32)) {
          parentPort.postMessage({ id, bad: i, actual: Buffer.from(d, "latin1").toString("hex"), bytesRead: got });
          return;
        }
      } else out.latin1Write(d, i * 32, 32);
    }
    if (out) parentPort.postMessage({ id, digests: out, bytesRead: got }, [out.buffer]);
    else parentPort.postMessage({ id, bad: -1, bytesRead: got });
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: String(e && e.message || e), errno: e && e.code });
  }
});
})();
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
