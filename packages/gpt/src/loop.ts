/**
 * One partition of an image file as a loop device.
 *
 * @module
 */
import type { CommandError, CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { GptInvalidArgumentError } from "./errors.js";
import type { GptPartition, SectorSize } from "./model.js";

/** Options for {@link attachPartition}. */
export interface AttachOptions {
  /** Logical sector size of the table's LBAs and of the loop device (default 512). */
  readonly sectorSize?: SectorSize;
  readonly readOnly?: boolean;
  readonly signal?: AbortSignal;
}

/** A partition attached as a loop device. */
export interface AttachedPartition {
  /** The loop device, e.g. `/dev/loop7`. */
  readonly device: string;
  readonly offsetBytes: bigint;
  readonly sizeBytes: bigint;
  /** Detach the loop device (`losetup -d`). */
  detach(): ResultAsync<void, CommandError>;
}

/**
 * The `losetup` arguments that attach `partition` of `image`.
 *
 * @example
 * ```ts
 * attachArgs("disk.img", partition, { sectorSize: 512 });
 * // ["--find", "--show", "--offset", "1048576", "--sizelimit", "629145600", "--sector-size", "512", "--", "disk.img"]
 * ```
 */
export function attachArgs(
  image: string,
  partition: Pick<GptPartition, "firstLba" | "lastLba">,
  options: AttachOptions = {},
): string[] {
  const ss = BigInt(options.sectorSize ?? 512);
  const offset = partition.firstLba * ss;
  const size = (partition.lastLba - partition.firstLba + 1n) * ss;
  return [
    "--find",
    "--show",
    "--offset",
    String(offset),
    "--sizelimit",
    String(size),
    "--sector-size",
    String(ss),
    ...(options.readOnly ? ["--read-only"] : []),
    "--",
    image,
  ];
}

/**
 * Attach one partition of an image file (or disk) as its own loop device at
 * the partition's byte offset and size: how image factories, and tests on
 * kernels that do not scan partition tables, address a partition. Call
 * `detach()` when done.
 *
 * @example
 * ```ts
 * const att = await attachPartition(runner, "disk.img", table.partitions[0]!);
 * if (att.isOk()) { await runner.run("mkfs.ext4", ["-q", att.value.device]); await att.value.detach(); }
 * ```
 */
export function attachPartition(
  runner: CommandRunner,
  image: string,
  partition: Pick<GptPartition, "firstLba" | "lastLba">,
  options: AttachOptions = {},
): ResultAsync<AttachedPartition, CommandError | GptInvalidArgumentError> {
  if (image.length === 0 || image.includes("\u0000") || partition.lastLba < partition.firstLba) {
    return errAsync({
      code: "GPT_INVALID_ARGUMENT",
      message:
        "attachPartition needs an image path and a partition whose last LBA is not before its first.",
      argument: image.length === 0 || image.includes("\u0000") ? "image" : "partition",
    });
  }
  const args = attachArgs(image, partition, options);
  const ss = BigInt(options.sectorSize ?? 512);
  const run = options.signal ? { signal: options.signal } : {};
  return runner.run("losetup", args, run).andThen((r) => {
    const device = r.stdout.trim();
    return okAsync({
      device,
      offsetBytes: partition.firstLba * ss,
      sizeBytes: (partition.lastLba - partition.firstLba + 1n) * ss,
      detach: () => runner.run("losetup", ["--detach", device]).map(() => undefined),
    });
  });
}
