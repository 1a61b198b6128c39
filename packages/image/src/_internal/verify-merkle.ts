// Content checks of one file against its dm-verity tree: full (every block,
// both cores) or a random sample of blocks. Stops at the first bad block.
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { ImageHashMismatchError } from "../errors.js";
import type { MerkleInfo } from "../manifest.js";
import type { HashPool } from "./hash-pool.js";
import { verifyChunks } from "./run-chunks.js";
import { BLOCK, DIGEST, PER_BLOCK, saltedHash, verityGeometry } from "./verity-layout.js";

export interface MerkleTarget {
  /** Names as in the manifest (for errors). */
  readonly file: string;
  readonly treeFile: string;
  readonly dataPath: string;
  readonly treePath: string;
  readonly size: number;
  readonly merkle: MerkleInfo;
}

export type ContentOutcome = "ok" | "aborted" | ImageHashMismatchError;

export function hashMismatch(
  file: string,
  region: ImageHashMismatchError["region"],
  firstBlock: number,
  lastBlock: number,
  expected: string,
  actual: string,
  what: string,
): ImageHashMismatchError {
  return {
    code: "IMAGE_HASH_MISMATCH",
    message: `${what} of ${file} does not match the manifest (blocks ${firstBlock}-${lastBlock}, bytes ${firstBlock * BLOCK}-${(lastBlock + 1) * BLOCK - 1}): the file is corrupted or was changed.`,
    file,
    region,
    firstBlock,
    lastBlock,
    byteOffset: firstBlock * BLOCK,
    byteLength: (lastBlock - firstBlock + 1) * BLOCK,
    expected,
    actual,
  };
}

async function readBlocks(h: FileHandle, offset: number, blocks: number): Promise<Buffer> {
  const b = Buffer.alloc(blocks * BLOCK);
  let got = 0;
  while (got < b.length) {
    const { bytesRead } = await h.read(b, got, b.length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return b;
}

/** Verifies the hash levels above level 0 and answers level-0 digests for data blocks. */
class TreeReader {
  readonly #upper: Buffer[] = [];
  readonly #g;
  readonly #salt;
  constructor(
    private readonly t: MerkleTarget,
    private readonly tree: FileHandle,
  ) {
    this.#g = verityGeometry(t.merkle.dataBlocks, t.merkle.superblock);
    this.#salt = Buffer.from(t.merkle.salt, "hex");
  }
  get levels(): number {
    return this.#g.levels;
  }
  #treeBlock(level: number, index: number): number {
    return (this.t.merkle.hashOffset + this.#g.levelOffset[level]!) / BLOCK + index;
  }
  #bad(level: number, index: number, expected: string, actual: string): ImageHashMismatchError {
    const b = this.#treeBlock(level, index);
    return hashMismatch(this.t.treeFile, "hash-tree", b, b, expected, actual, `Hash block ${b}`);
  }
  /** Parent digest of block `index` of `level`. */
  #parent(level: number, index: number): Buffer {
    if (level === this.#g.levels - 1) return Buffer.from(this.t.merkle.rootHash, "hex");
    const up = this.#upper[level + 1]!;
    return up.subarray(index * DIGEST, index * DIGEST + DIGEST);
  }
  /** Read and check levels >= 1 (1/128 of level 0 and less). */
  async loadUpper(): Promise<ImageHashMismatchError | undefined> {
    const g = this.#g;
    for (let level = g.levels - 1; level >= 1; level--) {
      const buf = await readBlocks(
        this.tree,
        this.t.merkle.hashOffset + g.levelOffset[level]!,
        g.levelBlocks[level]!,
      );
      this.#upper[level] = buf;
      for (let j = 0; j < g.levelBlocks[level]!; j++) {
        const d = saltedHash(this.#salt, buf.subarray(j * BLOCK, (j + 1) * BLOCK));
        const want = this.#parent(level, j);
        if (!d.equals(want)) return this.#bad(level, j, want.toString("hex"), d.toString("hex"));
      }
    }
    return undefined;
  }
  /** Checked level-0 digests of data blocks [first, first+count). */
  async leafDigests(first: number, count: number): Promise<Buffer | ImageHashMismatchError> {
    const a = Math.floor(first / PER_BLOCK);
    const z = Math.floor((first + count - 1) / PER_BLOCK);
    const buf = await readBlocks(
      this.tree,
      this.t.merkle.hashOffset + this.#g.levelOffset[0]! + a * BLOCK,
      z - a + 1,
    );
    for (let j = a; j <= z; j++) {
      const block = buf.subarray((j - a) * BLOCK, (j - a + 1) * BLOCK);
      const d = saltedHash(this.#salt, block);
      const want = this.#parent(0, j);
      if (!d.equals(want)) return this.#bad(0, j, want.toString("hex"), d.toString("hex"));
    }
    const start = (first - a * PER_BLOCK) * DIGEST;
    return buf.subarray(start, start + count * DIGEST);
  }
}

export interface ContentOptions {
  readonly pool: HashPool;
  readonly signal?: AbortSignal;
  readonly onBytes: (bytes: number) => void;
}

/** Every block. */
export async function verifyMerkleFull(
  t: MerkleTarget,
  o: ContentOptions,
): Promise<ContentOutcome> {
  const m = t.merkle;
  const salt = Buffer.from(m.salt, "hex");
  if (m.dataBlocks <= 1) return verifySingle(t, salt, o);
  const tree = await open(t.treePath, "r");
  try {
    const reader = new TreeReader(t, tree);
    const upper = await reader.loadUpper();
    if (upper) return upper;
    const r = await verifyChunks<ImageHashMismatchError>(o.pool, {
      path: t.dataPath,
      offset: 0,
      blocks: m.dataBlocks,
      salt,
      ...(o.signal ? { signal: o.signal } : {}),
      expectedFor: (first, count) => reader.leafDigests(first, count),
      onVerified: (first, count) =>
        o.onBytes(Math.min(t.size, (first + count) * BLOCK) - first * BLOCK),
    });
    if (r === "done") return "ok";
    if (r === "aborted") return "aborted";
    if ("failure" in r) return r.failure;
    const b = r.mismatch.block;
    return hashMismatch(
      t.file,
      "data",
      b,
      b,
      r.mismatch.expected,
      r.mismatch.actual,
      `Data block ${b}`,
    );
  } finally {
    await tree.close();
  }
}

async function verifySingle(
  t: MerkleTarget,
  salt: Buffer,
  o: ContentOptions,
): Promise<ContentOutcome> {
  const h = await open(t.dataPath, "r");
  try {
    const block = t.merkle.dataBlocks === 0 ? Buffer.alloc(0) : await readBlocks(h, 0, 1);
    const d = saltedHash(salt, block).toString("hex");
    o.onBytes(t.size);
    return d === t.merkle.rootHash
      ? "ok"
      : hashMismatch(t.file, "data", 0, 0, t.merkle.rootHash, d, "Data block 0");
  } finally {
    await h.close();
  }
}

/** Deterministic PRNG (mulberry32) so a sample can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random `fraction` of the data blocks (at least one), the whole upper tree. */
export async function verifyMerkleSample(
  t: MerkleTarget,
  fraction: number,
  seed: number,
  o: ContentOptions,
): Promise<ContentOutcome> {
  const m = t.merkle;
  const salt = Buffer.from(m.salt, "hex");
  if (m.dataBlocks <= 1) return verifySingle(t, salt, o);
  const count = Math.min(m.dataBlocks, Math.max(1, Math.ceil(fraction * m.dataBlocks)));
  const next = rng(seed);
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(next() * m.dataBlocks));
  const blocks = [...picked].sort((x, y) => x - y);
  const tree = await open(t.treePath, "r");
  const data = await open(t.dataPath, "r");
  try {
    const reader = new TreeReader(t, tree);
    const upper = await reader.loadUpper();
    if (upper) return upper;
    for (const b of blocks) {
      if (o.signal?.aborted) return "aborted";
      const want = await reader.leafDigests(b, 1);
      if (!Buffer.isBuffer(want)) return want;
      const d = saltedHash(salt, await readBlocks(data, b * BLOCK, 1));
      if (!d.equals(want))
        return hashMismatch(
          t.file,
          "data",
          b,
          b,
          want.toString("hex"),
          d.toString("hex"),
          `Data block ${b}`,
        );
      o.onBytes(Math.min(t.size, (b + 1) * BLOCK) - b * BLOCK);
    }
    return "ok";
  } finally {
    await Promise.all([tree.close(), data.close()]);
  }
}
