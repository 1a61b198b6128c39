/**
 * Filesystem facts: identity and devices, space, size estimates.
 *
 * @module
 */
import type { CommandRunner } from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import { btrfs, inside } from "./_internal/common.js";
import { onDiskUuid } from "./_internal/temp-fsid.js";
import type { BtrfsError } from "./errors.js";
import {
  type FilesystemInfo,
  type FilesystemUsage,
  parseFilesystemDu,
  parseFilesystemShow,
  parseFilesystemUsage,
  type SizeEstimate,
} from "./parse-filesystem.js";
import { requireSubvolume } from "./subvolumes.js";

/**
 * UUID, label and devices of the filesystem at a mount point or on a device.
 * The UUID is the one on the disk, also for a copy the kernel mounted under a
 * temporary UUID because another with the same UUID was mounted first.
 *
 * @example
 * ```ts
 * const fs = await filesystemInfo(runner, "/dev/nvme0n1p3");
 * if (fs.isOk()) fs.value.devices.map((d) => d.path);
 * ```
 */
export function filesystemInfo(
  runner: CommandRunner,
  pathOrDevice: string,
): ResultAsync<FilesystemInfo, BtrfsError> {
  return btrfs(runner, ["filesystem", "show", "--raw", pathOrDevice])
    .andThen((r) => parseFilesystemShow(r.stdout))
    .andThen((info) => onDiskUuid(info.uuid).map((uuid) => ({ ...info, uuid })));
}

/**
 * Used and free space of a mounted filesystem (`btrfs filesystem usage -b`).
 *
 * @example
 * ```ts
 * const u = await filesystemUsage(runner, "/mnt/top");
 * if (u.isOk()) u.value.freeEstimated;
 * ```
 */
export function filesystemUsage(
  runner: CommandRunner,
  mountpoint: string,
): ResultAsync<FilesystemUsage, BtrfsError> {
  return btrfs(runner, ["filesystem", "usage", "-b", mountpoint]).andThen((r) =>
    parseFilesystemUsage(r.stdout),
  );
}

/**
 * Estimate a subvolume's size without quotas, with `btrfs filesystem du -s --raw`
 * (it walks the tree, so it takes time on big trees). `exclusive` is what
 * deleting the subvolume would roughly free; `total` is what a full send
 * carries (file data; metadata not counted).
 *
 * @example
 * ```ts
 * const e = await estimateSize(runner, "/mnt/top", "root");
 * if (e.isOk()) console.log(e.value.total, e.value.exclusive, e.value.shared);
 * ```
 */
export function estimateSize(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
): ResultAsync<SizeEstimate, BtrfsError> {
  return inside(topLevel, subvolume)
    .andThen(requireSubvolume)
    .andThen((w) => btrfs(runner, ["filesystem", "du", "-s", "--raw", w.absolute]))
    .andThen((r) => parseFilesystemDu(r.stdout));
}
