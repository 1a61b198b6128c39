import { createHash } from "node:crypto";
import { type FileHandle, open, stat } from "node:fs/promises";
import { abortedError, type CommandRunner } from "@lifeboat/core";
import { errAsync, ResultAsync } from "neverthrow";
import { Fail, toFactoryError } from "./_internal/fail.js";
import type { FactoryError } from "./errors.js";

/** Progress of {@link deployImage}. */
export type DeployProgress =
  | {
      readonly phase: "write";
      readonly bytesDone: number;
      readonly bytesTotal: number;
      readonly bytesSkipped: number;
    }
  | { readonly phase: "verify"; readonly bytesDone: number; readonly bytesTotal: number };

/** Options for {@link deployImage}. */
export interface DeployOptions {
  /** The golden disk image (a file). */
  readonly source: string;
  /** A disk image file (created when missing) or a block device. */
  readonly target: string;
  /**
   * Whether the target already reads as zeros, so all-zero blocks of the
   * image need not be written. `"auto"` (the default) is true only for a
   * target file that Lifeboat creates or that is empty, where the file is
   * extended sparsely. Pass `true` for a device you discarded with
   * `blkdiscard -z` or know is new.
   */
  readonly targetZeroed?: boolean | "auto";
  /** Read back and compare after writing (default true). */
  readonly verify?: boolean;
  /** SHA-256 (hex) the image must have, e.g. from a signed manifest; checked while reading it. */
  readonly expectedSha256?: string;
  /** I/O block size in bytes (default 4 MiB). */
  readonly blockSize?: number;
  readonly onProgress?: (event: DeployProgress) => void;
  readonly signal?: AbortSignal;
}

/** What {@link deployImage} did. */
export interface DeploySummary {
  readonly bytesTotal: number;
  readonly bytesWritten: number;
  /** All-zero blocks not written because the target already reads as zeros. */
  readonly bytesSkipped: number;
  /** SHA-256 of the image, when it was computed (verification on, or an expected digest given). */
  readonly sha256: string | undefined;
  readonly verified: boolean;
  readonly durationMs: number;
}

async function targetState(target: string, imageBytes: number, zeroed: boolean | "auto") {
  const existing = await stat(target).catch(() => undefined);
  if (!existing) return { create: true, zeroed: zeroed !== false, device: false };
  if (existing.isBlockDevice()) return { create: false, zeroed: zeroed === true, device: true };
  return {
    create: false,
    zeroed: zeroed === true || (zeroed === "auto" && existing.size === 0),
    device: false,
    size: existing.size,
    imageBytes,
  };
}

async function deviceBytes(runner: CommandRunner, device: string): Promise<number> {
  const r = await runner.run("blockdev", ["--getsize64", device]);
  if (r.isErr()) throw new Fail(r.error);
  return Number(r.value.stdout.trim());
}

function isZero(block: Buffer, zero: Buffer): boolean {
  return block.equals(zero.subarray(0, block.length));
}

async function hashRange(
  handle: FileHandle,
  bytes: number,
  blockSize: number,
  onBlock: (done: number) => void,
  signal?: AbortSignal,
) {
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(blockSize);
  for (let offset = 0; offset < bytes; ) {
    if (signal?.aborted) throw new Fail(abortedError("verifying the written image"));
    const { bytesRead } = await handle.read(buffer, 0, Math.min(blockSize, bytes - offset), offset);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    offset += bytesRead;
    onBlock(offset);
  }
  return hash.digest("hex");
}

/**
 * Write a golden disk image to a target disk or image file, streaming in
 * blocks (never the whole image in memory), skipping all-zero blocks when
 * the target already reads as zeros, then fsync and read back to verify.
 *
 * @example
 * ```ts
 * const r = await deployImage(runner, { source: "golden.img", target: "/dev/sdb", targetZeroed: true,
 *   onProgress: (e) => console.log(e.phase, e.bytesDone) });
 * if (r.isOk()) console.log(`skipped ${r.value.bytesSkipped} zero bytes`);
 * ```
 */
export function deployImage(
  runner: CommandRunner,
  options: DeployOptions,
): ResultAsync<DeploySummary, FactoryError> {
  const blockSize = options.blockSize ?? 4 * 1024 * 1024;
  if (!Number.isInteger(blockSize) || blockSize < 4096 || blockSize % 4096 !== 0) {
    return errAsync({
      code: "IO_FAILED",
      message: "blockSize must be a multiple of 4096.",
      path: options.target,
      operation: "deploy",
      errno: undefined,
    });
  }
  const started = Date.now();
  return ResultAsync.fromPromise(
    (async (): Promise<DeploySummary> => {
      const imageBytes = (await stat(options.source)).size;
      const state = await targetState(options.target, imageBytes, options.targetZeroed ?? "auto");
      const capacity = state.device
        ? await deviceBytes(runner, options.target)
        : Number.POSITIVE_INFINITY;
      if (capacity < imageBytes) {
        throw new Fail({
          code: "FACTORY_TARGET_TOO_SMALL",
          message: `${options.target} holds ${capacity} bytes; the image needs ${imageBytes}.`,
          target: options.target,
          targetBytes: capacity,
          imageBytes,
        });
      }
      const source = await open(options.source, "r");
      const target = await open(options.target, state.create ? "w+" : "r+");
      try {
        if (!state.device && (state.create || (state.size ?? 0) < imageBytes))
          await target.truncate(imageBytes);
        // Hash only when something will check it; overlap the next read with the previous write.
        const hash =
          options.verify !== false || options.expectedSha256 !== undefined
            ? createHash("sha256")
            : undefined;
        const buffers = [Buffer.allocUnsafe(blockSize), Buffer.allocUnsafe(blockSize)] as const;
        const zero = Buffer.alloc(blockSize);
        let written = 0;
        let skipped = 0;
        let pending: Promise<unknown> = Promise.resolve();
        for (let offset = 0, turn = 0; offset < imageBytes; turn ^= 1) {
          if (options.signal?.aborted) throw new Fail(abortedError("writing the image"));
          const buffer = buffers[turn]!;
          const { bytesRead } = await source.read(
            buffer,
            0,
            Math.min(blockSize, imageBytes - offset),
            offset,
          );
          if (bytesRead === 0) break;
          const block = buffer.subarray(0, bytesRead);
          hash?.update(block);
          await pending;
          if (state.zeroed && isZero(block, zero)) {
            skipped += bytesRead;
            pending = Promise.resolve();
          } else {
            pending = target.write(block, 0, bytesRead, offset);
            written += bytesRead;
          }
          offset += bytesRead;
          options.onProgress?.({
            phase: "write",
            bytesDone: offset,
            bytesTotal: imageBytes,
            bytesSkipped: skipped,
          });
        }
        await pending;
        await target.sync();
        const sha256 = hash?.digest("hex");
        if (
          options.expectedSha256 !== undefined &&
          sha256 !== undefined &&
          options.expectedSha256 !== sha256
        ) {
          throw new Fail({
            code: "FACTORY_VERIFY_FAILED",
            message: `The golden image ${options.source} is not the one expected: its SHA-256 differs.`,
            target: options.source,
            expectedSha256: options.expectedSha256,
            actualSha256: sha256,
          });
        }
        let verified = false;
        if (options.verify !== false && sha256 !== undefined) {
          const readBack = await hashRange(
            target,
            imageBytes,
            blockSize,
            (done) =>
              options.onProgress?.({ phase: "verify", bytesDone: done, bytesTotal: imageBytes }),
            options.signal,
          );
          if (readBack !== sha256) {
            throw new Fail({
              code: "FACTORY_VERIFY_FAILED",
              message: `What was read back from ${options.target} differs from the image.`,
              target: options.target,
              expectedSha256: sha256,
              actualSha256: readBack,
            });
          }
          verified = true;
        }
        return {
          bytesTotal: imageBytes,
          bytesWritten: written,
          bytesSkipped: skipped,
          sha256,
          verified,
          durationMs: Date.now() - started,
        };
      } finally {
        await target.close();
        await source.close();
      }
    })(),
    toFactoryError(options.target, "deploy"),
  );
}
