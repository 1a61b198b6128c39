// Feed a range of blocks to the hash pool in chunks, keeping every worker busy.
import type { HashPool } from "./hash-pool.js";
import { BLOCK } from "./verity-layout.js";

const CHUNK = 512; // blocks (2 MiB)

interface ChunkRange {
  readonly path: string;
  /** Byte offset of block 0 of the range. */
  readonly offset: number;
  readonly blocks: number;
  readonly salt: Uint8Array;
  readonly signal?: AbortSignal;
}

async function schedule(
  pool: HashPool,
  range: ChunkRange,
  task: (first: number, count: number) => Promise<boolean>,
): Promise<"done" | "aborted" | "stopped"> {
  let next = 0;
  let stopped = false;
  let aborted = false;
  const lane = async () => {
    while (!stopped && next < range.blocks) {
      if (range.signal?.aborted) {
        aborted = true;
        stopped = true;
        return;
      }
      const first = next;
      const count = Math.min(CHUNK, range.blocks - first);
      next += count;
      if (!(await task(first, count))) stopped = true;
    }
  };
  const lanes = Array.from({ length: pool.size * 2 }, lane);
  await Promise.all(lanes);
  return aborted ? "aborted" : stopped ? "stopped" : "done";
}

/** Hash every block of the range; `onDigests` receives each chunk's digests (any order). */
export async function runChunks(
  pool: HashPool,
  range: ChunkRange & {
    readonly onDigests: (firstBlock: number, digests: Buffer) => Promise<void>;
  },
): Promise<"done" | "aborted"> {
  const r = await schedule(pool, range, async (first, count) => {
    const res = await pool.run({
      path: range.path,
      offset: range.offset + first * BLOCK,
      blocks: count,
      blockSize: BLOCK,
      salt: range.salt,
    });
    if (res.kind !== "digests") throw new Error("hash worker returned no digests");
    await range.onDigests(first, res.digests);
    return true;
  });
  return r === "aborted" ? "aborted" : "done";
}

/** A block whose digest differed. */
export interface BlockMismatch {
  readonly block: number;
  readonly expected: string;
  readonly actual: string;
}

/**
 * Compare every block of the range against expected digests; stops at the
 * first mismatch found. `expectedFor` may itself fail (a bad hash block),
 * returning the failure to stop with.
 */
export async function verifyChunks<F>(
  pool: HashPool,
  range: ChunkRange & {
    readonly expectedFor: (firstBlock: number, count: number) => Promise<Buffer | F>;
    readonly onVerified: (firstBlock: number, count: number) => void;
  },
): Promise<"done" | "aborted" | { mismatch: BlockMismatch } | { failure: F }> {
  let found: { mismatch: BlockMismatch } | { failure: F } | undefined;
  const r = await schedule(pool, range, async (first, count) => {
    const expected = await range.expectedFor(first, count);
    if (!Buffer.isBuffer(expected)) {
      found ??= { failure: expected };
      return false;
    }
    const res = await pool.run({
      path: range.path,
      offset: range.offset + first * BLOCK,
      blocks: count,
      blockSize: BLOCK,
      salt: range.salt,
      expected,
    });
    if (res.kind === "mismatch") {
      const block = first + res.block;
      const prev = found && "mismatch" in found ? found.mismatch.block : Number.POSITIVE_INFINITY;
      if (!found || block < prev) {
        found = {
          mismatch: {
            block,
            expected: expected.subarray(res.block * 32, res.block * 32 + 32).toString("hex"),
            actual: res.actual,
          },
        };
      }
      return false;
    }
    range.onVerified(first, count);
    return true;
  });
  if (found) return found;
  return r === "stopped" ? "done" : r;
}
