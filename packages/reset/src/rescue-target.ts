import { statfs } from "node:fs/promises";
import { type IoFailedError, ioError, type MountinfoEntry, readMountinfo } from "@lifeboat/core";
import { okAsync, ResultAsync } from "neverthrow";
import type { RescueTarget } from "./requests.js";

/**
 * Measure a directory on external media as a rescue target: its free bytes
 * (`statfs`, what an unprivileged user may write) and the filesystem type of
 * the mount it is on (`"btrfs"` allows a received copy). An unreadable or
 * missing directory is an `IO_FAILED` error naming it.
 *
 * @example
 * ```ts
 * const target = (await describeRescueTarget("/run/media/usb"))._unsafeUnwrap();
 * plan(state, { kind: "rescue", stamp: stampOf(new Date()), target });
 * // RESET_INSUFFICIENT_SPACE when home does not fit in target.freeBytes
 * ```
 */
export function describeRescueTarget(directory: string): ResultAsync<RescueTarget, IoFailedError> {
  return ResultAsync.fromPromise(statfs(directory), (e) =>
    ioError(e, directory, "measure the rescue target"),
  ).andThen((fs) =>
    readMountinfo()
      .orElse(() => okAsync([] as MountinfoEntry[]))
      .map((table): RescueTarget => {
        const mount = table
          .filter(
            (m) =>
              m.mountPoint === "/" ||
              directory === m.mountPoint ||
              directory.startsWith(`${m.mountPoint}/`),
          )
          .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
        return {
          directory,
          freeBytes: Number(fs.bavail) * Number(fs.bsize),
          ...(mount ? { fsType: mount.fstype } : {}),
        };
      }),
  );
}
