import { readFile, realpath, statfs } from "node:fs/promises";
import type { IoFailedError } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { BtrfsNotBtrfsError, BtrfsNotTopLevelError } from "../errors.js";
import { fromNode } from "./common-io.js";

/** statfs f_type of Btrfs (BTRFS_SUPER_MAGIC). */
export const BTRFS_SUPER_MAGIC = 0x9123683e;

export interface MountinfoEntry {
  readonly root: string;
  readonly mountPoint: string;
  readonly fstype: string;
  readonly source: string;
  readonly superOptions: string;
}

function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) =>
    String.fromCharCode(Number.parseInt(oct, 8)),
  );
}

/** Parse /proc/self/mountinfo (proc(5)). */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 6 || right.length < 3) continue;
    out.push({
      root: unescapeOctal(left[3]!),
      mountPoint: unescapeOctal(left[4]!),
      fstype: right[0]!,
      source: unescapeOctal(right[1]!),
      superOptions: right[2]!,
    });
  }
  return out;
}

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
