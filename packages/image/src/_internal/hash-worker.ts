// A hashing worker thread of the hash pool: reads file ranges itself and
// hashes 4 KiB blocks as SHA-256(salt || block), so no data crosses threads.
// Bundled into the package's build (see hash-pool.ts).
import * as crypto from "node:crypto";
import { closeSync, openSync, readSync, readvSync } from "node:fs";
import { parentPort } from "node:worker_threads";

/** One range of blocks to hash (or, with `expected`, to compare). */
export interface HashWorkerJob {
  readonly id: number;
  readonly path: string;
  readonly offset: number;
  readonly blocks: number;
  readonly blockSize: number;
  readonly salt: Uint8Array;
  /** blocks * 32 bytes: compare instead of returning digests. */
  readonly expected: Uint8Array | undefined;
}

/** The answer to a job: digests, the first mismatching block (`bad`, -1 for none), or an error. */
export interface HashWorkerReply {
  readonly id: number;
  readonly digests?: Uint8Array;
  readonly bad?: number;
  readonly actual?: string;
  readonly bytesRead?: number;
  readonly error?: string;
  readonly errno?: string;
}

interface Layout {
  readonly saltHex: string;
  readonly blockSize: number;
  readonly blocks: number;
  readonly big: Buffer;
  readonly iov: Buffer[];
  readonly stride: number;
}

const port = parentPort;
const oneShot = typeof crypto.hash === "function";

// Blocks are read (readv) straight behind a copy of the salt: slot i = salt || block i,
// so each digest is one call over a contiguous slot and nothing is copied.
let layout: Layout | undefined;
function layoutFor(salt: Buffer, blockSize: number, blocks: number): Layout {
  const saltHex = salt.toString("hex");
  if (
    layout !== undefined &&
    layout.saltHex === saltHex &&
    layout.blockSize === blockSize &&
    layout.blocks >= blocks
  )
    return layout;
  const stride = salt.length + blockSize;
  const big = Buffer.allocUnsafe(stride * blocks);
  const iov: Buffer[] = [];
  for (let i = 0; i < blocks; i++) {
    salt.copy(big, i * stride);
    iov.push(big.subarray(i * stride + salt.length, (i + 1) * stride));
  }
  layout = { saltHex, blockSize, blocks, big, iov, stride };
  return layout;
}

// "binary" is Node's other name for latin1 (the one its types accept here).
function sha256Latin1(slot: Buffer): string {
  return oneShot
    ? crypto.hash("sha256", slot, "binary")
    : crypto.createHash("sha256").update(slot).digest("binary");
}

/** Buffer's own latin1 writer, without `write`'s argument parsing. */
type Latin1Writable = Buffer & { latin1Write(s: string, offset: number, length: number): number };

function hash(job: HashWorkerJob): { reply: HashWorkerReply; transfer?: ArrayBuffer[] } {
  const { id, path, offset, blocks, blockSize, expected } = job;
  const L = layoutFor(Buffer.from(job.salt), blockSize, blocks);
  const need = blocks * blockSize;
  const iov = blocks === L.iov.length ? L.iov : L.iov.slice(0, blocks);
  let got = 0;
  const fd = openSync(path, "r");
  try {
    got = readvSync(fd, iov, offset);
    while (got < need) {
      // Short read: finish block by block (end of file, or a signal).
      const b = Math.floor(got / blockSize);
      const within = got - b * blockSize;
      const n = readSync(fd, L.iov[b] as Buffer, within, blockSize - within, offset + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  if (got < need) {
    const b = Math.floor(got / blockSize);
    (L.iov[b] as Buffer).fill(0, got - b * blockSize);
    for (let i = b + 1; i < blocks; i++) (L.iov[i] as Buffer).fill(0);
  }
  // Digests as 32-char latin1 strings: cheaper to make than Buffers (measured ~20%),
  // compared in place with startsWith, written into the output with one call each.
  const exp = expected
    ? Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength).toString("latin1")
    : null;
  const out = exp === null ? (Buffer.allocUnsafe(blocks * 32) as Latin1Writable) : null;
  const { stride, big } = L;
  for (let i = 0; i < blocks; i++) {
    const d = sha256Latin1(big.subarray(i * stride, (i + 1) * stride));
    if (exp !== null) {
      if (!exp.startsWith(d, i * 32)) {
        const actual = Buffer.from(d, "latin1").toString("hex");
        return { reply: { id, bad: i, actual, bytesRead: got } };
      }
    } else out?.latin1Write(d, i * 32, 32);
  }
  if (out)
    return { reply: { id, digests: out, bytesRead: got }, transfer: [out.buffer as ArrayBuffer] };
  return { reply: { id, bad: -1, bytesRead: got } };
}

port?.on("message", (job: HashWorkerJob) => {
  try {
    const { reply, transfer } = hash(job);
    port.postMessage(reply, transfer);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    port.postMessage({ id: job.id, error: String(err?.message || err), errno: err?.code });
  }
});
