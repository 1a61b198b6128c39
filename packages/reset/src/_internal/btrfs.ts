/**
 * The Btrfs operations the reset's steps need, asked of an `@lifeboat/btrfs`
 * handle (`openBtrfs`, which picks the agent or the programs), with the extra
 * durability the reset wants (fsync of parents, committed transactions) and
 * "nothing there" as a value rather than an error.
 */
import { access, constants, mkdir, rename } from "node:fs/promises";
import path from "node:path";
import type { SubvolumeFacts } from "@lifeboat/btrfs";
import * as btrfs from "@lifeboat/btrfs";
import {
  type CommandRunner,
  fsyncDirectory,
  type IoFailedError,
  resolveInside,
} from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type { ResetError, UnexpectedStateError } from "../errors.js";
import { io, statMaybe } from "./fs.js";

/**
 * Run `work` holding a Btrfs handle on `top` (when given), so every question
 * the work asks on `runner` goes to one agent, started alongside the work
 * rather than before it. The handle is given back when the work is done; the
 * agent outlives it by a turn of the event loop, so `inspect`, `plan` and
 * `executeReset` called one after another share it.
 */
export function holdingBtrfs<T, E>(
  runner: CommandRunner,
  top: string | undefined,
  work: () => ResultAsync<T, E>,
): ResultAsync<T, E> {
  if (top === undefined) return work();
  const held = btrfs.openBtrfs(runner, top);
  const run = async () => {
    try {
      return await work();
    } finally {
      // A top the handle refused is the work's to report; nothing to give back then.
      const h = await held;
      if (h.isOk()) await h.value.close();
    }
  };
  return new ResultAsync(run());
}

/** Run `work` with a handle on `top` (the agent shared with any held by {@link holdingBtrfs}). */
export function useBtrfs<T>(
  runner: CommandRunner,
  top: string,
  work: (handle: btrfs.BtrfsHandle) => ResultAsync<T, ResetError>,
): ResultAsync<T, ResetError> {
  return btrfs.withBtrfs(runner, top, work);
}

/** Facts about the subvolume at `rel` under the top level, or undefined when nothing is there. */
export function subvolumeAt(
  runner: CommandRunner,
  top: string,
  rel: string,
): ResultAsync<SubvolumeFacts | undefined, ResetError> {
  const abs = path.join(top, rel);
  return io(statMaybe(abs), abs, "stat").andThen((st) => {
    if (st === undefined) return okAsync(undefined);
    if (!st.isDirectory() || st.ino !== 256)
      return errAsync<SubvolumeFacts | undefined, ResetError>(notSubvolume(abs));
    return useBtrfs(runner, top, (fs) => fs.subvolume(rel));
  });
}

function notSubvolume(abs: string): UnexpectedStateError {
  return {
    code: "RESET_UNEXPECTED_STATE",
    message: `${abs} exists but is not a subvolume.`,
    stepKind: "btrfs",
    detail: "not a subvolume",
  };
}

/**
 * True when the subvolume at `abs` refuses writes: Btrfs answers a write
 * permission check on a read-only subvolume with EROFS (btrfs_permission),
 * whoever asks, so no program is needed.
 */
export async function isReadOnlySubvolume(abs: string): Promise<boolean> {
  try {
    await access(abs, constants.W_OK);
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === "EROFS") return true;
    throw e;
  }
}

/** The subvolume root at `rel` exists (undefined when nothing is there; an error when it is not a subvolume). */
export function subvolumeExists(top: string, rel: string): ResultAsync<boolean, ResetError> {
  const abs = path.join(top, rel);
  return io(statMaybe(abs), abs, "stat").andThen((st) => {
    if (st === undefined) return okAsync(false);
    if (!st.isDirectory() || st.ino !== 256)
      return errAsync<boolean, ResetError>(notSubvolume(abs));
    return okAsync(true);
  });
}

/**
 * Facts about several subvolumes, undefined for a path where nothing is:
 * from one subvolume list (one agent request, or two programs) rather than
 * one question each.
 */
export function subvolumesAt(
  runner: CommandRunner,
  top: string,
  rels: readonly string[],
): ResultAsync<(SubvolumeFacts | undefined)[], ResetError> {
  return ResultAsync.combine(rels.map((rel) => subvolumeExists(top, rel))).andThen((present) => {
    const wanted = rels.filter((_, i) => present[i]);
    if (wanted.length === 0) return okAsync(rels.map(() => undefined));
    if (wanted.length === 1)
      return subvolumeAt(runner, top, wanted[0]!).map((f) =>
        rels.map((_, i) => (present[i] ? f : undefined)),
      );
    return useBtrfs(runner, top, (fs) => fs.listSubvolumes()).andThen((list) => {
      const byPath = new Map(list.map((s) => [s.path, s]));
      const facts: (SubvolumeFacts | undefined)[] = [];
      for (const [i, rel] of rels.entries()) {
        if (!present[i]) {
          facts.push(undefined);
          continue;
        }
        const key = path.normalize(rel).replace(/^\/+|\/+$/g, "");
        const found = byPath.get(key);
        if (found === undefined) return errAsync<typeof facts, ResetError>(notListed(top, key));
        facts.push(found);
      }
      return okAsync(facts);
    });
  });
}

function notListed(top: string, key: string): IoFailedError {
  return {
    code: "IO_FAILED",
    message: `The subvolume list of ${top} does not show ${key}.`,
    path: path.join(top, key),
    operation: "read subvolume facts",
    errno: "ENOENT",
  };
}

/**
 * Snapshot `source` to `target` (both relative to the top level), missing
 * parents created; refused when `target` exists. The snapshot ioctl commits
 * its transaction before it returns (create_snapshot ->
 * btrfs_commit_transaction), so no sync is needed.
 */
export function snapshot(
  runner: CommandRunner,
  top: string,
  source: string,
  target: string,
  options: { readonly readOnly?: boolean } = {},
): ResultAsync<void, ResetError> {
  return useBtrfs(runner, top, (fs) =>
    fs.snapshot(source, target, { parents: true, readOnly: options.readOnly ?? false }),
  );
}

/** Create an empty subvolume, committed. */
export function createSubvolume(
  runner: CommandRunner,
  top: string,
  target: string,
): ResultAsync<void, ResetError> {
  return btrfs
    .createSubvolume(runner, top, target, { parents: true })
    .andThen(() => syncFilesystem(runner, top));
}

/** Delete a subvolume and every subvolume nested in it (deepest first); nothing there is fine. */
export function deleteSubvolume(
  runner: CommandRunner,
  top: string,
  target: string,
): ResultAsync<void, ResetError> {
  return subvolumeAt(runner, top, target).andThen((found) =>
    found === undefined
      ? okAsync(undefined)
      : useBtrfs(runner, top, (fs) => fs.deleteSubvolume(target, { recursive: true })).map(
          () => undefined,
        ),
  );
}

/** Rename a subvolume inside the filesystem, durably (one rename(2); no program). */
export function renameDurable(
  _runner: CommandRunner,
  top: string,
  from: string,
  to: string,
): ResultAsync<void, ResetError> {
  return resolveInside(top, from).andThen((src) =>
    resolveInside(top, to).andThen((dst) =>
      io(
        (async () => {
          await mkdir(path.dirname(dst), { recursive: true });
          await rename(src, dst);
          for (const dir of new Set([path.dirname(dst), path.dirname(src)]))
            await fsyncDirectory(dir);
        })(),
        dst,
        "rename",
      ),
    ),
  );
}

/** Swap two subvolumes' names atomically (renameat2 RENAME_EXCHANGE; the directories are fsynced). */
export function exchange(
  runner: CommandRunner,
  top: string,
  a: string,
  b: string,
): ResultAsync<void, ResetError> {
  return useBtrfs(runner, top, (fs) => fs.exchange(a, b));
}

/** Commit the filesystem's current transaction (everything written so far is on disk). */
export function syncFilesystem(runner: CommandRunner, top: string): ResultAsync<void, ResetError> {
  return runner.run("btrfs", ["filesystem", "sync", top]).map(() => undefined);
}
