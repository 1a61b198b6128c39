import { readFile, realpath, statfs } from "node:fs/promises";
import { type IoFailedError, parseMountinfo } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { BtrfsNotBtrfsError, BtrfsNotTopLevelError } from "../errors.js";
import { fromNode } from "./common-io.js";

/** statfs f_type of Btrfs (BTRFS_SUPER_MAGIC). */
export const BTRFS_SUPER_MAGIC = 0x9123683e;

/**
 * Refuse a directory that is not a mount of the top level (subvolume 5):
 * it must be on Btrfs (statfs) and be a mount point whose root is `/`
 * (from /proc/self/mountinfo; no process is started).
 */
export function checkTopLevel(
  topLevel: string,
): ResultAsync<string, BtrfsNotBtrfsError | BtrfsNotTopLevelError | IoFailedError> {
  return fromNode(
    (async () => {
      const fs = await statfs(topLevel);
      const real = await realpath(topLevel);
      const entries = parseMountinfo(await readFile("/proc/self/mountinfo", "utf8"));
      return { type: fs.type, entry: entries.filter((e) => e.mountPoint === real).at(-1) };
    })(),
    topLevel,
    "inspect",
  ).andThen(({ type, entry }) => {
    if (type !== BTRFS_SUPER_MAGIC) {
      return errAsync<string, BtrfsNotBtrfsError>({
        code: "BTRFS_NOT_BTRFS",
        message: `${topLevel} is not on a Btrfs filesystem.`,
        path: topLevel,
      });
    }
    if (entry?.fstype === "btrfs" && entry.root === "/") return okAsync(topLevel);
    const id = entry ? /(?:^|,)subvolid=(\d+)/.exec(entry.superOptions)?.[1] : undefined;
    return errAsync<string, BtrfsNotTopLevelError>({
      code: "BTRFS_NOT_TOP_LEVEL",
      message: entry
        ? `${topLevel} is a mount of subvolume ${entry.root} (id ${id ?? "?"}), not of the top level; mount it with subvolid=5 (see mountTopLevel).`
        : `${topLevel} is not a mount point; mount the top level (subvolid=5) with mountTopLevel and pass its path.`,
      path: topLevel,
      subvolumeId: id === undefined ? undefined : Number(id),
    });
  });
}
