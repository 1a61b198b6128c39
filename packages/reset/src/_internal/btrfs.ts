/**
 * The Btrfs operations the reset's steps need, on `@lifeboat/btrfs`, with
 * the extra durability the reset wants (fsync of parents, committed
 * transactions) and "nothing there" as a value rather than an error.
 */
import path from "node:path";
import * as btrfs from "@lifeboat/btrfs";
import { type CommandRunner, fsyncDirectory, type LifeboatError } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { UnexpectedStateError } from "../errors.js";
import { io, statMaybe } from "./fs.js";

/** What the reset needs to know about one subvolume. */
export interface SubvolumeFacts {
  readonly id: number;
  readonly uuid: string;
  readonly parentUuid: string | undefined;
  readonly readOnly: boolean;
}

/** Facts about the subvolume at `rel` under the top level, or undefined when nothing is there. */
export function subvolumeAt(
  runner: CommandRunner,
  top: string,
  rel: string,
): ResultAsync<SubvolumeFacts | undefined, LifeboatError> {
  const abs = path.join(top, rel);
  return io(statMaybe(abs), abs, "stat").andThen((st) => {
    if (st === undefined) return okAsync(undefined);
    if (!st.isDirectory() || st.ino !== 256) {
      const e: UnexpectedStateError = {
        code: "RESET_UNEXPECTED_STATE",
        message: `${abs} exists but is not a subvolume.`,
        stepKind: "btrfs",
        detail: "not a subvolume",
      };
      return errAsync<SubvolumeFacts | undefined, LifeboatError>(e);
    }
    return btrfs.showSubvolume(runner, top, rel).map((s) => ({
      id: s.id,
      uuid: s.uuid,
      parentUuid: s.parentUuid,
      readOnly: s.readOnly,
    }));
  });
}

/** Snapshot `source` to `target` (both relative to the top level), committed. */
export function snapshot(
  runner: CommandRunner,
  top: string,
  source: string,
  target: string,
  options: { readonly readOnly?: boolean } = {},
): ResultAsync<void, LifeboatError> {
  return btrfs
    .snapshot(runner, top, source, target, { readOnly: options.readOnly ?? false, parents: true })
    .andThen(() => syncFilesystem(runner, top));
}

/** Create an empty subvolume, committed. */
export function createSubvolume(
  runner: CommandRunner,
  top: string,
  target: string,
): ResultAsync<void, LifeboatError> {
  return btrfs
    .createSubvolume(runner, top, target, { parents: true })
    .andThen(() => syncFilesystem(runner, top));
}

/** Delete a subvolume and every subvolume nested in it (deepest first); nothing there is fine. */
export function deleteSubvolume(
  runner: CommandRunner,
  top: string,
  target: string,
): ResultAsync<void, LifeboatError> {
  return subvolumeAt(runner, top, target).andThen((found) =>
    found === undefined
      ? okAsync(undefined)
      : btrfs.deleteSubvolume(runner, top, target, { recursive: true }).map(() => undefined),
  );
}

/** Rename a subvolume inside the filesystem, durably. */
export function renameDurable(
  runner: CommandRunner,
  top: string,
  from: string,
  to: string,
): ResultAsync<void, LifeboatError> {
  return btrfs.renameSubvolume(runner, top, from, to, { parents: true }).andThen(() =>
    io(
      (async () => {
        await fsyncDirectory(path.dirname(path.join(top, to)));
        await fsyncDirectory(path.dirname(path.join(top, from)));
      })(),
      to,
      "fsync",
    ),
  );
}

/** Swap two names atomically (renameat2 RENAME_EXCHANGE; the directories are fsynced). */
export function exchange(
  runner: CommandRunner,
  top: string,
  a: string,
  b: string,
): ResultAsync<void, LifeboatError> {
  return btrfs.exchangeSubvolumes(runner, top, a, b).map(() => undefined);
}

/** Commit the filesystem's current transaction (everything written so far is on disk). */
export function syncFilesystem(
  runner: CommandRunner,
  top: string,
): ResultAsync<void, LifeboatError> {
  return runner.run("btrfs", ["filesystem", "sync", top]).map(() => undefined);
}
