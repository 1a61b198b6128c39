/**
 * Seed devices: a read-only Btrfs (e.g. the recovery image) that a writable
 * filesystem is "sprouted" from by adding a device; new writes land on the
 * new device, and removing the seed copies what is left over.
 *
 * @module
 */
import type { CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { BtrfsError } from "./errors.js";
import { filesystemInfo } from "./filesystem.js";
import type { FilesystemInfo } from "./parse-filesystem.js";

function isMounted(runner: CommandRunner, device: string): ResultAsync<boolean, BtrfsError> {
  return runner
    .run("findmnt", ["-n", "-o", "TARGET", "--source", device], { okExitCodes: [1] })
    .map((r) => r.exitCode === 0 && r.stdout.trim() !== "");
}

/**
 * Whether a (not necessarily mounted) device is a seed (`btrfs inspect-internal dump-super`).
 *
 * @example
 * ```ts
 * const s = await isSeed(runner, "/dev/nvme0n1p4"); // ok(true)
 * ```
 */
export function isSeed(runner: CommandRunner, device: string): ResultAsync<boolean, BtrfsError> {
  return runner.run("btrfs", ["inspect-internal", "dump-super", device]).map((r) => {
    const flags = /^flags\s+0x([0-9a-f]+)/m.exec(r.stdout)?.[1];
    // BTRFS_SUPER_FLAG_SEEDING is bit 32 of the superblock flags.
    return flags !== undefined && (BigInt(`0x${flags}`) & (1n << 32n)) !== 0n;
  });
}

/**
 * Make an unmounted filesystem a seed (`btrfstune -S 1`): from now on it mounts read-only.
 *
 * @example
 * ```ts
 * await makeSeed(runner, "/dev/loop3");
 * ```
 */
export function makeSeed(runner: CommandRunner, device: string): ResultAsync<void, BtrfsError> {
  return isMounted(runner, device)
    .andThen((mounted) =>
      mounted
        ? errAsync<void, BtrfsError>({
            code: "BTRFS_SEED_STATE",
            message: `${device} is mounted; unmount it before making it a seed.`,
            device,
            expected: "unmounted",
          })
        : okAsync(undefined),
    )
    .andThen(() => runner.run("btrfstune", ["-S", "1", device]))
    .map(() => undefined);
}

/** Options for {@link sprout}. */
export interface SproutOptions {
  /** The mounted seed filesystem (mounted read-only, as a seed must be). */
  readonly mountpoint: string;
  /** The writable device to add; everything on it is destroyed. */
  readonly device: string;
}

/**
 * Sprout a writable filesystem from a mounted seed: `btrfs device add -f`
 * then `mount -o remount,rw`. The result has a new filesystem UUID; new
 * writes go to `device`, the seed stays untouched.
 *
 * @example
 * ```ts
 * await sprout(runner, { mountpoint: "/mnt/seed", device: "/dev/nvme0n1p3" });
 * ```
 */
export function sprout(
  runner: CommandRunner,
  options: SproutOptions,
): ResultAsync<FilesystemInfo, BtrfsError> {
  return runner
    .run("btrfs", ["device", "add", "-f", options.device, options.mountpoint])
    .andThen(() => runner.run("mount", ["-o", "remount,rw", options.mountpoint]))
    .andThen(() => filesystemInfo(runner, options.mountpoint));
}

/**
 * Remove the seed device from a sprouted, mounted filesystem (`btrfs device
 * remove`): the data still on the seed is copied to the other devices first,
 * so afterwards the filesystem stands alone.
 *
 * @example
 * ```ts
 * await removeSeed(runner, { mountpoint: "/mnt/seed", device: "/dev/loop3" });
 * ```
 */
export function removeSeed(
  runner: CommandRunner,
  options: { readonly mountpoint: string; readonly device: string; readonly signal?: AbortSignal },
): ResultAsync<FilesystemInfo, BtrfsError> {
  return runner
    .run(
      "btrfs",
      ["device", "remove", options.device, options.mountpoint],
      options.signal ? { signal: options.signal } : {},
    )
    .andThen(() => filesystemInfo(runner, options.mountpoint));
}
