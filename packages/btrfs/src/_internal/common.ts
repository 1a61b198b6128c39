import { lstat } from "node:fs/promises";
import path from "node:path";
import {
  type CommandError,
  type CommandRunner,
  type IoFailedError,
  type RunOptions,
  type RunResult,
  resolveInside,
  type UnsafePathError,
} from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import type { BtrfsNotBtrfsError, BtrfsNotTopLevelError } from "../errors.js";
import { fromNode } from "./common-io.js";
import { checkTopLevel } from "./mountinfo.js";

export { fromNode } from "./common-io.js";
export { checkTopLevel } from "./mountinfo.js";

/** Inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
export const SUBVOLUME_ROOT_INODE = 256;

export function btrfs(
  runner: CommandRunner,
  args: readonly string[],
  options: RunOptions = {},
): ResultAsync<RunResult, CommandError> {
  return runner.run("btrfs", args, options);
}

/** `lstat`, giving `undefined` when the path does not exist. */
export function lstatMaybe(target: string) {
  return fromNode(
    lstat(target).catch((e: unknown) => {
      if ((e as { code?: string }).code === "ENOENT") return undefined;
      throw e;
    }),
    target,
    "inspect",
  );
}

/** True when `target` is the root directory of a subvolume (inode 256 on btrfs). */
export function isSubvolumeRoot(target: string): ResultAsync<boolean, IoFailedError> {
  return lstatMaybe(target).map(
    (st) => st?.isDirectory() === true && Number(st.ino) === SUBVOLUME_ROOT_INODE,
  );
}

/** The subvolume id a path lives in (`btrfs inspect-internal rootid`). */
export function rootIdOf(
  runner: CommandRunner,
  target: string,
): ResultAsync<number, CommandError | BtrfsNotBtrfsError> {
  return btrfs(runner, ["inspect-internal", "rootid", target])
    .mapErr((e): CommandError | BtrfsNotBtrfsError =>
      e.code === "COMMAND_FAILED" && /not a btrfs|Inappropriate ioctl/i.test(e.stderrTail)
        ? {
            code: "BTRFS_NOT_BTRFS",
            message: `${target} is not on a Btrfs filesystem.`,
            path: target,
            cause: e,
          }
        : e,
    )
    .map((r) => Number(r.stdout.trim()));
}

/** A subvolume path checked and resolved inside the top level. */
export interface Inside {
  readonly absolute: string;
  /** Normalised path relative to the top level. */
  readonly relative: string;
}

/** Check the top level, then resolve `relative` inside it (refusing `..`, absolute, NUL, symlink escapes). */
export function inside(
  topLevel: string,
  relative: string,
): ResultAsync<
  Inside,
  CommandError | BtrfsNotBtrfsError | BtrfsNotTopLevelError | UnsafePathError | IoFailedError
> {
  return checkTopLevel(topLevel).andThen(() =>
    resolveInside(topLevel, relative).map((absolute) => ({
      absolute,
      relative: path.relative(topLevel, absolute),
    })),
  );
}
