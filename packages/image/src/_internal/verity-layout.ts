// dm-verity format 1 geometry and superblock, as cryptsetup's verity_hash.c lays them out.
import { createHash } from "node:crypto";

export const BLOCK = 4096;
export const DIGEST = 32;
export const PER_BLOCK = BLOCK / DIGEST; // 128
export const SUPERBLOCK_BYTES = BLOCK;

export interface VerityGeometry {
  readonly dataBlocks: number;
  /** Levels of hash blocks; level 0 hashes data blocks. 0 when dataBlocks <= 1. */
  readonly levels: number;
  /** Hash blocks in each level (index = level). */
  readonly levelBlocks: readonly number[];
  /** Byte offset of each level in the tree file (relative to hashOffset, superblock included). */
  readonly levelOffset: readonly number[];
  /** Bytes of the tree file from hashOffset, superblock included. */
  readonly treeBytes: number;
}

export function verityGeometry(dataBlocks: number, superblock: boolean): VerityGeometry {
  let levels = 0;
  while (dataBlocks > 1 && Math.floor((dataBlocks - 1) / PER_BLOCK ** levels) > 0) levels++;
  const levelBlocks: number[] = [];
  for (let i = 0; i < levels; i++) levelBlocks.push(Math.ceil(dataBlocks / PER_BLOCK ** (i + 1)));
  // Levels are stored top-down: the highest level first.
  const levelOffset: number[] = new Array<number>(levels).fill(0);
  let position = superblock ? SUPERBLOCK_BYTES : 0;
  for (let i = levels - 1; i >= 0; i--) {
    levelOffset[i] = position;
    position += levelBlocks[i]! * BLOCK;
  }
  return { dataBlocks, levels, levelBlocks, levelOffset, treeBytes: position };
}

/** The 4096-byte superblock block (512-byte superblock, zero padding). */
export function encodeSuperblock(opts: {
  uuid: string;
  dataBlocks: number;
  salt: Uint8Array;
}): Buffer {
  const b = Buffer.alloc(SUPERBLOCK_BYTES);
  b.write("verity", 0, "ascii");
  b.writeUInt32LE(1, 8); // version
  b.writeUInt32LE(1, 12); // hash_type: 1 = SHA(salt || block)
  Buffer.from(opts.uuid.replaceAll("-", ""), "hex").copy(b, 16);
  b.write("sha256", 32, "ascii");
  b.writeUInt32LE(BLOCK, 64);
  b.writeUInt32LE(BLOCK, 68);
  b.writeBigUInt64LE(BigInt(opts.dataBlocks), 72);
  b.writeUInt16LE(opts.salt.length, 80);
  Buffer.from(opts.salt).copy(b, 88);
  return b;
}

/** Byte range of the uuid in the superblock. */
export const SUPERBLOCK_UUID_RANGE = [16, 32] as const;

/** A UUID derived from what identifies a tree, so builds are reproducible. */
export function deriveUuid(parts: readonly string[]): string {
  const h = createHash("sha256")
    .update(`lifeboat-verity-uuid\0${parts.join("\0")}`)
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export function saltedHash(salt: Uint8Array, block: Uint8Array): Buffer {
  return createHash("sha256").update(salt).update(block).digest();
}
