/**
 * Mounting the top level (subvolume 5) and finding which subvolume a path is on.
 *
 * @module
 */
import { mkdtemp, rmdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CommandError, CommandRunner, IoFailedError, ParseFailedError } from "@lifeboat/core";
import { err, errAsync, ok, okAsync, ResultAsync } from "neverthrow";
import { z } from "zod";
import { btrfs, fromNode, rootIdOf } from "./_internal/common.js";
import type { BtrfsError } from "./errors.js";
import { parseSubvolumeShow, type Subvolume } from "./parse-subvolume.js";

/** A mounted top level; call `unmount` when done. */
export interface TopLevelMount {
  /** The directory the top level is mounted on. */
  readonly path: string;
  /** The device that was mounted. */
  readonly device: string;
  /** Unmount and remove the temporary directory. */
  unmount(): ResultAsync<void, CommandError | IoFailedError>;
}

/** Options for {@link mountTopLevel}. */
export interface MountTopLevelOptions {
  /** Mount read-only. Default false. */
  readonly readOnly?: boolean;
  /** Parent of the temporary mount directory. Default: the system temp directory. */
  readonly directory?: string;
}

const findmntSchema = z.object({
  filesystems: z
    .array(
      z.object({
        source: z.string(),
        target: z.string(),
        fstype: z.string(),
        fsroot: z.string().nullable().optional(),
        options: z.string().optional(),
      }),
    )
    .min(1),
});

/** The mount a path is on, from `findmnt -J -T`. */
export interface MountOf {
  /** Mount point. */
  readonly target: string;
  /** Device (without the `[/subvol]` suffix). */
  readonly source: string;
  readonly fstype: string;
  /** The subvolume path that is mounted there, from the filesystem's top (e.g. `/root`). */
  readonly fsroot: string | undefined;
  readonly options: string;
}

function mountOf(runner: CommandRunner, target: string): ResultAsync<MountOf, BtrfsError> {
  return runner
    .run("findmnt", ["-J", "--nofsroot", "-o", "SOURCE,TARGET,FSTYPE,FSROOT,OPTIONS", "-T", target])
    .andThen((r) => {
      let json: unknown;
      try {
        json = JSON.parse(r.stdout);
      } catch (e) {
        return err<MountOf, ParseFailedError>({
          code: "PARSE_FAILED",
          message: "findmnt -J printed no JSON.",
          source: "findmnt -J",
          issues: [String(e)],
          cause: e,
        });
      }
      const parsed = findmntSchema.safeParse(json);
      if (!parsed.success) {
        return err<MountOf, ParseFailedError>({
          code: "PARSE_FAILED",
          message: "Unexpected findmnt -J output.",
          source: "findmnt -J",
          issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
        });
      }
      const fs = parsed.data.filesystems[0]!;
      return ok({
        target: fs.target,
        source: fs.source,
        fstype: fs.fstype,
        fsroot: fs.fsroot ?? undefined,
        options: fs.options ?? "",
      });
    });
}

function notBtrfs(p: string): BtrfsError {
  return { code: "BTRFS_NOT_BTRFS", message: `${p} is not on a Btrfs filesystem.`, path: p };
}

/**
 * Mount the top level (subvolume id 5) of a Btrfs filesystem on a new
 * temporary directory. `source` is the filesystem's device, or any path on
 * the mounted filesystem (its device is found with `findmnt`).
 *
 * @example
 * ```ts
 * const top = await mountTopLevel(runner, "/dev/nvme0n1p3");
 * if (top.isOk()) {
 *   await listSubvolumes(runner, top.value.path);
 *   await top.value.unmount();
 * }
 * ```
 */
export function mountTopLevel(
  runner: CommandRunner,
  source: string,
  options: MountTopLevelOptions = {},
): ResultAsync<TopLevelMount, BtrfsError> {
  const device = fromNode(stat(source), source, "inspect").andThen((st) =>
    st.isBlockDevice()
      ? okAsync<string, BtrfsError>(source)
      : mountOf(runner, source).andThen((m) =>
          m.fstype === "btrfs" ? okAsync(m.source) : errAsync(notBtrfs(source)),
        ),
  );
  return device.andThen((dev) =>
    fromNode(
      mkdtemp(path.join(options.directory ?? tmpdir(), "lifeboat-top-")),
      options.directory ?? tmpdir(),
      "create a mount directory",
    ).andThen((dir) =>
      runner
        .run("mount", ["-t", "btrfs", "-o", `subvolid=5${options.readOnly ? ",ro" : ""}`, dev, dir])
        .orElse((e) =>
          fromNode(rmdir(dir), dir, "remove").andThen(() => errAsync<never, BtrfsError>(e)),
        )
        .map(
          (): TopLevelMount => ({
            path: dir,
            device: dev,
            unmount: () => unmountDir(runner, dir),
          }),
        ),
    ),
  );
}

function unmountDir(
  runner: CommandRunner,
  dir: string,
): ResultAsync<void, CommandError | IoFailedError> {
  const attempt = (left: number): ResultAsync<void, CommandError> =>
    runner
      .run("umount", [dir])
      .map(() => undefined)
      .orElse((e) =>
        left > 0 && e.code === "COMMAND_FAILED" && /busy/i.test(e.stderrTail)
          ? ResultAsync.fromSafePromise(new Promise((r) => setTimeout(r, 200))).andThen(() =>
              attempt(left - 1),
            )
          : errAsync(e),
      );
  return attempt(10).andThen(() => fromNode(rmdir(dir), dir, "remove"));
}

/** Where a path lives: its subvolume and its mount. */
export interface PathSubvolume {
  /** The subvolume (its `path` is relative to the top level, `/` for the top level). */
  readonly subvolume: Subvolume;
  readonly mount: MountOf;
}

/**
 * Find the subvolume a path is on (e.g. `/` on a Fedora system: `root`) and the mount it is seen through.
 *
 * @example
 * ```ts
 * const r = await subvolumeOfPath(runner, "/");
 * if (r.isOk()) r.value.subvolume.path; // "root"
 * ```
 */
export function subvolumeOfPath(
  runner: CommandRunner,
  target: string,
): ResultAsync<PathSubvolume, BtrfsError> {
  return mountOf(runner, target).andThen((mount) =>
    mount.fstype !== "btrfs"
      ? errAsync<PathSubvolume, BtrfsError>(notBtrfs(target))
      : rootIdOf(runner, target)
          .andThen((id) => btrfs(runner, ["subvolume", "show", "-r", String(id), target]))
          .andThen((r) => parseSubvolumeShow(r.stdout))
          .map((subvolume) => ({ subvolume, mount })),
  );
}
