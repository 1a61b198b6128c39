/**
 * dm-verity hash trees (format 1): SHA-256(salt ‖ block) over 4 KiB blocks,
 * 4 KiB hash blocks of 128 digests zero-padded, levels stored top-down after
 * an optional 4096-byte superblock. `veritysetup verify` accepts the trees
 * written here (see docs/recovery-partition-format.md for the exact options).
 *
 * @module
 */
import { open, stat } from "node:fs/promises";
import { type AbortedError, abortedError, type IoFailedError, ioError } from "@lifeboat/core";
import { err, ok, ResultAsync } from "neverthrow";
import { hashPool } from "./_internal/hash-pool.js";
import { runChunks } from "./_internal/run-chunks.js";
import {
  BLOCK,
  DIGEST,
  encodeSuperblock,
  saltedHash,
  verityGeometry,
} from "./_internal/verity-layout.js";

/** Options for {@link createHashTree}. */
export interface CreateHashTreeOptions {
  /** Salt bytes (up to 256). */
  readonly salt: Uint8Array;
  /** Write a dm-verity superblock before the tree (default true, like `veritysetup format`). */
  readonly superblock?: boolean;
  /** UUID for the superblock (default: all zero), or a function of the root hash (the superblock is written last). */
  readonly uuid?: string | ((rootHash: string) => string);
  /** Hashing threads (default: available cores, at most 4). */
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /** Called as data is hashed. */
  readonly onProgress?: (event: {
    readonly bytesDone: number;
    readonly bytesTotal: number;
  }) => void;
}

/** What {@link createHashTree} wrote. */
export interface HashTreeResult {
  readonly rootHash: string;
  readonly dataBlocks: number;
  readonly dataBytes: number;
  /** Bytes of the tree file, superblock included. */
  readonly hashTreeSize: number;
  readonly superblock: boolean;
  readonly uuid: string;
  readonly salt: string;
}

/** Data blocks per worker job (2 MiB). */
export const CHUNK_BLOCKS = 512;

/**
 * Compute the hash tree of `dataPath` and write it to `treePath` (created or
 * replaced, fsynced), using worker threads for the data blocks.
 *
 * @example
 * ```ts
 * const t = await createHashTree("set/root.squashfs", "set/root.squashfs.verity", { salt });
 * // veritysetup verify set/root.squashfs set/root.squashfs.verity <t.rootHash>
 * ```
 */
export function createHashTree(
  dataPath: string,
  treePath: string,
  options: CreateHashTreeOptions,
): ResultAsync<HashTreeResult, IoFailedError | AbortedError> {
  const superblock = options.superblock ?? true;
  const salt = Buffer.from(options.salt);
  return ResultAsync.fromPromise(stat(dataPath), (e) => ioError(e, dataPath, "stat")).andThen(
    (st) => {
      const dataBytes = st.size;
      const dataBlocks = Math.ceil(dataBytes / BLOCK);
      const g = verityGeometry(dataBlocks, superblock);
      const pool = hashPool(options.threads);
      return ResultAsync.fromPromise(open(treePath, "w+", 0o644), (e) =>
        ioError(e, treePath, "create"),
      ).andThen((tree) => {
        const work = async (): Promise<HashTreeResult | AbortedError> => {
          await tree.truncate(g.treeBytes);
          let root: Buffer | undefined;
          // Level 0: data blocks, written as digests arrive (positions are fixed).
          const level0 = await runChunks(pool, {
            path: dataPath,
            offset: 0,
            blocks: dataBlocks,
            salt,
            ...(options.signal ? { signal: options.signal } : {}),
            onDigests: async (first, digests) => {
              if (g.levels === 0) root = Buffer.from(digests.subarray(0, DIGEST));
              else await tree.write(digests, 0, digests.length, g.levelOffset[0]! + first * DIGEST);
              options.onProgress?.({
                bytesDone: Math.min(dataBytes, (first + digests.length / DIGEST) * BLOCK),
                bytesTotal: dataBytes,
              });
            },
          });
          if (level0 === "aborted") return abortedError("hashing data blocks");
          // Upper levels: hash the hash blocks of the level below (small: 1/128 each).
          for (let i = 1; i < g.levels; i++) {
            const r = await runChunks(pool, {
              path: treePath,
              offset: g.levelOffset[i - 1]!,
              blocks: g.levelBlocks[i - 1]!,
              salt,
              ...(options.signal ? { signal: options.signal } : {}),
              onDigests: async (first, digests) => {
                await tree.write(digests, 0, digests.length, g.levelOffset[i]! + first * DIGEST);
              },
            });
            if (r === "aborted") return abortedError("hashing the tree");
          }
          if (g.levels > 0) {
            const top = Buffer.alloc(BLOCK);
            await tree.read(top, 0, BLOCK, g.levelOffset[g.levels - 1]!);
            root = saltedHash(salt, top);
          }
          if (!root) root = saltedHash(salt, Buffer.alloc(0)); // empty file: no blocks
          const rootHash = root.toString("hex");
          const uuid =
            typeof options.uuid === "function"
              ? options.uuid(rootHash)
              : (options.uuid ?? "00000000-0000-0000-0000-000000000000");
          if (superblock)
            await tree.write(encodeSuperblock({ uuid, dataBlocks, salt }), 0, BLOCK, 0);
          await tree.sync();
          return {
            rootHash,
            dataBlocks,
            dataBytes,
            hashTreeSize: g.treeBytes,
            superblock,
            uuid,
            salt: salt.toString("hex"),
          };
        };
        return ResultAsync.fromPromise(
          work().finally(() => tree.close()),
          (e) => ioError(e, treePath, "write hash tree"),
        ).andThen((r) => ("code" in r ? err(r) : ok(r)));
      });
    },
  );
}
