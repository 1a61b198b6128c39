/**
 * The default subvolume and the read-only property.
 *
 * @module
 */
import type { CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { btrfs, checkTopLevel, inside } from "./_internal/common.js";
import type { BtrfsError } from "./errors.js";
import { type DefaultSubvolume, parseGetDefault } from "./parse-subvolume.js";
import { requireSubvolume, showSubvolume } from "./subvolumes.js";

/**
 * The subvolume a mount without `subvol=`/`subvolid=` gets.
 *
 * @example
 * ```ts
 * const d = await getDefaultSubvolume(runner, "/mnt/top");
 * if (d.isOk()) d.value; // { id: 5, path: undefined } on a fresh filesystem
 * ```
 */
export function getDefaultSubvolume(
  runner: CommandRunner,
  topLevel: string,
): ResultAsync<DefaultSubvolume, BtrfsError> {
  return checkTopLevel(topLevel)
    .andThen(() => btrfs(runner, ["subvolume", "get-default", topLevel]))
    .andThen((r) => parseGetDefault(r.stdout));
}

/** Which subvolume: by path relative to the top level, or by id (5 = the top level). */
export type SubvolumeRef = { readonly path: string } | { readonly id: number };

/**
 * Make a subvolume the default (one `BTRFS_IOC_DEFAULT_SUBVOL` ioctl: atomic).
 * Note that Fedora mounts root by name (`subvol=root`), where this changes nothing.
 *
 * @example
 * ```ts
 * await setDefaultSubvolume(runner, "/mnt/top", { path: "root" });
 * await setDefaultSubvolume(runner, "/mnt/top", { id: 5 }); // back to the top level
 * ```
 */
export function setDefaultSubvolume(
  runner: CommandRunner,
  topLevel: string,
  target: SubvolumeRef,
): ResultAsync<DefaultSubvolume, BtrfsError> {
  const id: ResultAsync<number, BtrfsError> =
    "id" in target
      ? Number.isInteger(target.id) && target.id >= 5
        ? checkTopLevel(topLevel).map(() => target.id)
        : errAsync({
            code: "INVALID_ARGUMENT",
            message: `Subvolume id ${target.id} is not valid (ids are integers >= 5).`,
            argument: "id",
          })
      : showSubvolume(runner, topLevel, target.path).map((s) => s.id);
  return id
    .andThen((n) => btrfs(runner, ["subvolume", "set-default", String(n), topLevel]))
    .andThen(() => getDefaultSubvolume(runner, topLevel));
}

/**
 * Whether a subvolume is read-only.
 *
 * @example
 * ```ts
 * const ro = await getReadOnly(runner, "/mnt/top", "snapshots/factory"); // ok(true)
 * ```
 */
export function getReadOnly(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
): ResultAsync<boolean, BtrfsError> {
  return inside(topLevel, subvolume)
    .andThen(requireSubvolume)
    .andThen((w) => btrfs(runner, ["property", "get", "-ts", w.absolute, "ro"]))
    .andThen((r) => {
      const m = /^ro=(true|false)$/m.exec(r.stdout);
      return m
        ? okAsync(m[1] === "true")
        : errAsync<boolean, BtrfsError>({
            code: "PARSE_FAILED",
            message: `Unexpected output from btrfs property get: ${JSON.stringify(r.stdout.trim())}`,
            source: "btrfs property get",
            issues: ["no ro=true|false line"],
          });
    });
}

/** Options for {@link setReadOnly}. */
export interface SetReadOnlyOptions {
  readonly readOnly: boolean;
  /**
   * Making a received subvolume writable clears its received UUID, which breaks
   * incremental receives based on it; btrfs-progs asks for `-f` then. Default false.
   */
  readonly force?: boolean;
}

/**
 * Set or clear the read-only property.
 *
 * @example
 * ```ts
 * await setReadOnly(runner, "/mnt/top", "snapshots/factory", { readOnly: true });
 * ```
 */
export function setReadOnly(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  options: SetReadOnlyOptions,
): ResultAsync<boolean, BtrfsError> {
  return inside(topLevel, subvolume)
    .andThen(requireSubvolume)
    .andThen((w) =>
      btrfs(runner, [
        "property",
        "set",
        ...(options.force ? ["-f"] : []),
        "-ts",
        w.absolute,
        "ro",
        String(options.readOnly),
      ]),
    )
    .andThen(() => getReadOnly(runner, topLevel, subvolume));
}
