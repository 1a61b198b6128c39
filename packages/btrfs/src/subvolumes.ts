/**
 * Subvolumes: list, show, create, snapshot, delete (recursively), rename.
 * Every path is relative to a mounted top level (subvolume 5).
 *
 * @module
 */
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";
import type { CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import {
  btrfs,
  checkTopLevel,
  fromNode,
  type Inside,
  inside,
  isSubvolumeRoot,
  lstatMaybe,
} from "./_internal/common.js";
import type { BtrfsError } from "./errors.js";
import {
  parseGetDefault,
  parseSubvolumeIds,
  parseSubvolumeList,
  parseSubvolumeShow,
  type Subvolume,
} from "./parse-subvolume.js";

/**
 * List every subvolume of the filesystem mounted (at its top level) on `topLevel`.
 *
 * @example
 * ```ts
 * const subs = await listSubvolumes(runner, "/mnt/top");
 * if (subs.isOk()) for (const s of subs.value) console.log(s.id, s.path, s.readOnly);
 * ```
 */
export function listSubvolumes(
  runner: CommandRunner,
  topLevel: string,
): ResultAsync<Subvolume[], BtrfsError> {
  return checkTopLevel(topLevel).andThen(() =>
    ResultAsync.combine([
      btrfs(runner, ["subvolume", "list", "-p", "-u", "-q", "-R", "-g", "-c", topLevel]),
      btrfs(runner, ["subvolume", "list", "-r", topLevel]),
    ]).andThen(([all, readOnly]) =>
      parseSubvolumeList(all.stdout, parseSubvolumeIds(readOnly.stdout)),
    ),
  );
}

function notFound(relative: string): BtrfsError {
  return {
    code: "BTRFS_SUBVOLUME_NOT_FOUND",
    message: `There is no subvolume at ${JSON.stringify(relative)}.`,
    subvolume: relative,
  };
}

export function requireSubvolume(where: Inside): ResultAsync<Inside, BtrfsError> {
  return isSubvolumeRoot(where.absolute).andThen((yes) =>
    yes ? okAsync(where) : errAsync(notFound(where.relative)),
  );
}

export function requireAbsent(where: Inside): ResultAsync<Inside, BtrfsError> {
  return lstatMaybe(where.absolute).andThen((st) =>
    st === undefined
      ? okAsync(where)
      : errAsync<Inside, BtrfsError>({
          code: "BTRFS_PATH_EXISTS",
          message: `${JSON.stringify(where.relative)} already exists.`,
          path: where.relative,
        }),
  );
}

function ensureParent(where: Inside, create: boolean): ResultAsync<Inside, BtrfsError> {
  const parent = path.dirname(where.absolute);
  if (create)
    return fromNode(mkdir(parent, { recursive: true }), parent, "create").map(() => where);
  return okAsync(where);
}

/**
 * Show one subvolume (`btrfs subvolume show`).
 *
 * @example
 * ```ts
 * const s = await showSubvolume(runner, "/mnt/top", "snapshots/factory");
 * if (s.isOk()) s.value.readOnly; // true
 * ```
 */
export function showSubvolume(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
): ResultAsync<Subvolume, BtrfsError> {
  return inside(topLevel, subvolume)
    .andThen(requireSubvolume)
    .andThen((w) => btrfs(runner, ["subvolume", "show", w.absolute]))
    .andThen((r) => parseSubvolumeShow(r.stdout));
}

/** Options for {@link createSubvolume} and {@link snapshot}. */
export interface CreateOptions {
  /** Create missing parent directories (plain directories, not subvolumes). Default false. */
  readonly parents?: boolean;
}

/**
 * Create an empty subvolume. Refuses when anything already exists at the path.
 *
 * @example
 * ```ts
 * await createSubvolume(runner, "/mnt/top", "home");
 * ```
 */
export function createSubvolume(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  options: CreateOptions = {},
): ResultAsync<Subvolume, BtrfsError> {
  return inside(topLevel, subvolume)
    .andThen(requireAbsent)
    .andThen((w) => ensureParent(w, options.parents ?? false))
    .andThen((w) => btrfs(runner, ["subvolume", "create", w.absolute]).map(() => w))
    .andThen((w) => showSubvolume(runner, topLevel, w.relative));
}

/** Options for {@link snapshot}. */
export interface SnapshotOptions extends CreateOptions {
  /** Make a read-only snapshot (needed for `btrfs send`, and for a factory image). Default false. */
  readonly readOnly?: boolean;
}

/**
 * Snapshot a subvolume (copy-on-write: constant time whatever its size). Nested
 * subvolumes are not included (they appear as empty directories). Refuses when
 * the destination exists (btrfs would otherwise snapshot *into* it).
 *
 * @example
 * ```ts
 * await snapshot(runner, "/mnt/top", "root", "snapshots/factory", { readOnly: true });
 * ```
 */
export function snapshot(
  runner: CommandRunner,
  topLevel: string,
  source: string,
  destination: string,
  options: SnapshotOptions = {},
): ResultAsync<Subvolume, BtrfsError> {
  return inside(topLevel, source)
    .andThen(requireSubvolume)
    .andThen((src) =>
      inside(topLevel, destination)
        .andThen(requireAbsent)
        .andThen((w) => ensureParent(w, options.parents ?? false))
        .andThen((dst) =>
          btrfs(runner, [
            "subvolume",
            "snapshot",
            ...(options.readOnly ? ["-r"] : []),
            src.absolute,
            dst.absolute,
          ]).map(() => dst),
        ),
    )
    .andThen((dst) => showSubvolume(runner, topLevel, dst.relative));
}

/** Options for {@link deleteSubvolume}. */
export interface DeleteOptions {
  /** Also delete subvolumes nested inside, deepest first. Without it, nested subvolumes make it fail. */
  readonly recursive?: boolean;
  /** Wait for the deletion to be committed to disk (`--commit-after`). Default true. */
  readonly commit?: boolean;
}

/** What {@link deleteSubvolume} removed, in the order it removed them. */
export interface DeleteResult {
  readonly deleted: readonly string[];
}

/**
 * Delete a subvolume; with `recursive`, the subvolumes nested in it first
 * (deepest first). Refuses to delete the default subvolume.
 *
 * @example
 * ```ts
 * const r = await deleteSubvolume(runner, "/mnt/top", "root.old", { recursive: true });
 * if (r.isOk()) r.value.deleted; // ["root.old/var/lib/machines", "root.old"]
 * ```
 */
export function deleteSubvolume(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  options: DeleteOptions = {},
): ResultAsync<DeleteResult, BtrfsError> {
  return inside(topLevel, subvolume).andThen((where) =>
    deleteWith(
      runner,
      topLevel,
      where,
      {
        list: () => listSubvolumes(runner, topLevel),
        defaultId: () =>
          btrfs(runner, ["subvolume", "get-default", topLevel])
            .andThen((r) => parseGetDefault(r.stdout))
            .map((d) => d.id),
      },
      options,
    ),
  );
}

/** Where {@link deleteWith} learns the subvolumes and the default one (programs or the agent). */
export interface DeleteFacts {
  list(): ResultAsync<Subvolume[], BtrfsError>;
  defaultId(): ResultAsync<number, BtrfsError>;
}

/**
 * {@link deleteSubvolume} of `where` (resolved under the checked `topLevel`),
 * with the subvolume list and default id from `facts`; the deletion is
 * `btrfs subvolume delete`.
 */
export function deleteWith(
  runner: CommandRunner,
  topLevel: string,
  where: Inside,
  facts: DeleteFacts,
  options: DeleteOptions = {},
): ResultAsync<DeleteResult, BtrfsError> {
  return requireSubvolume(where)
    .andThen((w) =>
      ResultAsync.combine([facts.list(), facts.defaultId()]).andThen(([all, defaultId]) =>
        doomed(w.relative, all, defaultId, options.recursive ?? false),
      ),
    )
    .andThen((paths) =>
      btrfs(runner, [
        "subvolume",
        "delete",
        ...(options.commit === false ? [] : ["--commit-after"]),
        ...paths.map((p) => path.join(topLevel, p)),
      ]).map(() => ({ deleted: paths })),
    );
}

/** What deleting `relative` removes, deepest first; refusals for the default subvolume and unasked nesting. Pure. */
function doomed(
  relative: string,
  all: readonly Subvolume[],
  defaultId: number,
  recursive: boolean,
): ResultAsync<string[], BtrfsError> {
  if (relative === "") return errAsync(notFound(""));
  const nested = all
    .filter((s) => s.path.startsWith(`${relative}/`))
    .sort((a, b) => b.path.split("/").length - a.path.split("/").length);
  const target = all.find((s) => s.path === relative);
  if (!target) return errAsync(notFound(relative));
  const gone = [...(recursive ? nested : []), target];
  const isDefault = gone.find((s) => s.id === defaultId);
  if (isDefault) {
    return errAsync({
      code: "BTRFS_IS_DEFAULT",
      message: `${JSON.stringify(isDefault.path)} is the default subvolume; set another default first.`,
      subvolume: isDefault.path,
      id: isDefault.id,
    });
  }
  if (!recursive && nested.length > 0) {
    return errAsync({
      code: "INVALID_ARGUMENT",
      message: `${JSON.stringify(relative)} contains ${nested.length} nested subvolume(s) (${nested
        .map((s) => s.path)
        .join(", ")}); pass { recursive: true } to delete them too.`,
      argument: "recursive",
    });
  }
  return okAsync(gone.map((s) => s.path));
}

/**
 * Rename or move a subvolume inside the filesystem (one `rename(2)`). Refuses
 * when the destination exists; use {@link exchangeSubvolumes} to swap two.
 *
 * @example
 * ```ts
 * await renameSubvolume(runner, "/mnt/top", "root", "root.old-20260101");
 * ```
 */
export function renameSubvolume(
  runner: CommandRunner,
  topLevel: string,
  from: string,
  to: string,
  options: CreateOptions = {},
): ResultAsync<Subvolume, BtrfsError> {
  return inside(topLevel, from)
    .andThen(requireSubvolume)
    .andThen((src) =>
      inside(topLevel, to)
        .andThen(requireAbsent)
        .andThen((w) => ensureParent(w, options.parents ?? false))
        .andThen((dst) =>
          fromNode(rename(src.absolute, dst.absolute), src.absolute, "rename").map(() => dst),
        ),
    )
    .andThen((dst) => showSubvolume(runner, topLevel, dst.relative));
}
