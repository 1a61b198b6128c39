/**
 * Install a verified image set onto a recovery partition, atomically.
 *
 * Layout under the recovery root (the partition's mount point, or a
 * directory on it):
 *
 * ```
 * <root>/sets/<setId>/        complete sets (manifest.json, .sig, payload, trees)
 * <root>/sets/.partial-…/     a set being written (never trusted)
 * <root>/sets/.trash-…/       a set being removed (never trusted)
 * <root>/current -> sets/<setId>   the set in use (a symlink, swapped by rename)
 * ```
 *
 * Order: check space, copy into `.partial-…` and fsync, verify the copy on
 * the target, rename it to `sets/<setId>`, swap `current` by renaming a new
 * symlink over it, fsync, and only then remove the previous set. Killed at any
 * point, `current` names a complete set: the old one or the new one.
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  statfs,
  symlink,
} from "node:fs/promises";
import path from "node:path";
import { abortedError, fsyncDirectory, ioError, joinInside } from "@lifeboat/core";
import { err, ok, ResultAsync } from "neverthrow";
import { durableCopy, fsyncTree, removeDurably, writeDurable } from "./_internal/durable-copy.js";
import type { ImageError, ImageNotInstalledError } from "./errors.js";
import { MANIFEST_FILE } from "./layout.js";
import { SIGNATURE_FILE, securityEpochOf } from "./manifest.js";
import {
  checkOverride,
  checkSecurityEpoch,
  manifestDigest,
  type RollbackOverride,
  type RollbackRecord,
  readEpochFloor,
  recordRollback,
  writeRecordedEpoch,
} from "./rollback.js";
import {
  trustedKeysOf,
  type VerifiedImageSet,
  type VerifyProgress,
  verifyImageSet,
} from "./verify.js";

/** Progress of {@link installImageSet}. */
export type InstallProgress =
  | { readonly phase: "space"; readonly requiredBytes: number; readonly availableBytes: number }
  | {
      readonly phase: "copy";
      readonly file: string;
      readonly bytesDone: number;
      readonly bytesTotal: number;
    }
  | { readonly phase: "sync" }
  | { readonly phase: "verify"; readonly event: VerifyProgress }
  | { readonly phase: "switch"; readonly setId: string }
  | { readonly phase: "cleanup"; readonly removed: readonly string[] };

/** Options for {@link installImageSet}. */
export interface InstallImageSetOptions {
  /** How to verify the copy on the target (default `full`). */
  readonly verifyMode?: "full" | { readonly sample: number; readonly seed?: number };
  /** Bytes to leave free on the target (default 1 MiB). */
  readonly reserveBytes?: number;
  readonly threads?: number;
  /** The OEM's minimum security epoch (see `readMinimumEpoch`); a set below it is refused. */
  readonly minimumEpoch?: number | undefined;
  /**
   * Install even when the set's security epoch is below the floor; the
   * override is appended to `rollback-log.jsonl` before the set becomes current.
   */
  readonly allowRollback?: RollbackOverride;
  /** The clock for the rollback record (default: now). */
  readonly now?: () => Date;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: InstallProgress) => void;
}

/** An installed set. */
export interface InstalledImageSet {
  readonly root: string;
  readonly setId: string;
  /** Absolute path of the set directory. */
  readonly dir: string;
  /** The set `current` pointed at before, if any (now removed). */
  readonly previousSetId: string | undefined;
  /** The verification of the copy on the target. */
  readonly verified: VerifiedImageSet;
  /** The override that was recorded, when the set was below the floor. */
  readonly rollback: RollbackRecord | undefined;
}

const SETS = "sets";
const CURRENT = "current";

/**
 * The directory name of a set on the recovery partition:
 * `<product>-<version>-<first 12 hex of SHA-256(manifest)>`.
 *
 * @example
 * ```ts
 * imageSetId(verified); // "acme-laptop-42.1-3f9c0d2e4b1a"
 * ```
 */
export function imageSetId(set: Pick<VerifiedImageSet, "manifest" | "manifestBytes">): string {
  const slug = (s: string) => s.replace(/[^A-Za-z0-9._+]+/g, "_").slice(0, 64);
  const digest = createHash("sha256").update(set.manifestBytes).digest("hex").slice(0, 12);
  return `${slug(set.manifest.product)}-${slug(set.manifest.version)}-${digest}`;
}

/**
 * The set `current` points at (not verified: pass `dir` to {@link verifyImageSet}).
 *
 * @example
 * ```ts
 * const cur = await readCurrentImageSet("/run/recovery");
 * if (cur.isOk()) await verifyImageSet(cur.value.dir, { trustedKeys });
 * ```
 */
export function readCurrentImageSet(
  root: string,
): ResultAsync<{ readonly setId: string; readonly dir: string }, ImageError> {
  const work = async () => {
    let target: string;
    try {
      target = await readlink(path.join(root, CURRENT));
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return notInstalled(root);
      throw e;
    }
    const parts = target.split("/");
    if (parts.length !== 2 || parts[0] !== SETS || !parts[1] || parts[1].startsWith("."))
      return notInstalled(root);
    const dir = joinInside(root, target);
    if (dir.isErr()) return dir.error;
    return { setId: parts[1], dir: dir.value };
  };
  return ResultAsync.fromPromise(work(), (e) => ioError(e, root, "read current")).andThen((r) =>
    "code" in r ? err(r) : ok(r),
  );
}

function notInstalled(root: string): ImageNotInstalledError {
  return { code: "IMAGE_NOT_INSTALLED", message: `No image set is installed in ${root}.`, root };
}

/**
 * Remove what an interrupted install left behind: partial copies, trash, and
 * every complete set that `current` does not point at.
 *
 * @example
 * ```ts
 * const r = await repairRecoveryRoot("/run/recovery"); // { removed: [".partial-…"] }
 * ```
 */
export function repairRecoveryRoot(
  root: string,
): ResultAsync<{ readonly removed: readonly string[] }, ImageError> {
  return readCurrentImageSet(root)
    .map((c) => c.setId as string | undefined)
    .orElse((e) => (e.code === "IMAGE_NOT_INSTALLED" ? ok(undefined) : err(e)))
    .andThen((keep) =>
      ResultAsync.fromPromise(removeOthers(root, keep, keep === undefined), (e) =>
        ioError(e, root, "clean up"),
      ),
    )
    .map((removed) => ({ removed }));
}

async function removeOthers(
  root: string,
  keep: string | undefined,
  onlyTemp: boolean,
): Promise<string[]> {
  const setsDir = path.join(root, SETS);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(setsDir);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return removed;
    throw e;
  }
  for (const name of names.sort()) {
    if (name === keep) continue;
    if (name.startsWith(".partial-") || name.startsWith(".trash-")) {
      await rm(path.join(setsDir, name), { recursive: true, force: true });
      removed.push(name);
    } else if (!onlyTemp) {
      await removeDurably(setsDir, name);
      removed.push(name);
    }
  }
  if (removed.length > 0) await fsyncDirectory(setsDir);
  return removed;
}

/**
 * Copy a verified set onto the recovery partition mounted at `root` and make
 * it `current`, atomically (see the module notes). Refuses with
 * `IMAGE_ROLLBACK` (security epoch below the floor, see `readEpochFloor`),
 * `IMAGE_INSUFFICIENT_SPACE` or `IMAGE_PARTITION_TOO_SMALL` before writing.
 * With `allowRollback` an older set is installed and the override recorded.
 *
 * @example
 * ```ts
 * const v = await verifyImageSet("out/set", { trustedKeys: [pub] });
 * if (v.isOk()) {
 *   const r = await installImageSet(v.value, "/run/recovery", { onProgress: console.log });
 * }
 * ```
 */
export function installImageSet(
  set: VerifiedImageSet,
  root: string,
  options: InstallImageSetOptions = {},
): ResultAsync<InstalledImageSet, ImageError> {
  return ResultAsync.fromPromise(install(set, path.resolve(root), options), (e) =>
    ioError(e, root, "install image set"),
  ).andThen((r) => ("code" in r ? err(r) : ok(r)));
}

async function install(
  set: VerifiedImageSet,
  root: string,
  options: InstallImageSetOptions,
): Promise<InstalledImageSet | ImageError> {
  const progress = options.onProgress ?? (() => {});
  const setId = imageSetId(set);
  const setsDir = path.join(root, SETS);
  await mkdir(setsDir, { recursive: true });
  await fsyncDirectory(root);
  const before = await readCurrentImageSet(root);
  const previousSetId = before.isOk() ? before.value.setId : undefined;
  const override = checkOverride(options.allowRollback);
  if (override.isErr()) return override.error;
  const floor = await readEpochFloor(root, { minimumEpoch: options.minimumEpoch });
  if (floor.isErr()) return floor.error;
  const offeredEpoch = securityEpochOf(set.manifest);
  const epochCheck = checkSecurityEpoch(set.manifest, floor.value);
  if (epochCheck.isErr() && !options.allowRollback) return epochCheck.error;
  const rollback: RollbackRecord | undefined =
    epochCheck.isErr() && options.allowRollback
      ? {
          time: (options.now?.() ?? new Date()).toISOString(),
          action: "install",
          fromEpoch: floor.value.epoch,
          floorSource: floor.value.source,
          toEpoch: offeredEpoch,
          product: set.manifest.product,
          version: set.manifest.version,
          setDigest: manifestDigest(set.manifestBytes),
          reason: options.allowRollback.reason,
        }
      : undefined;
  await removeOthers(root, previousSetId, true);
  const finalDir = path.join(setsDir, setId);

  // Everything to copy: payload, trees, signature; the manifest comes from the token.
  const copies: Array<{ rel: string; from: string; size: number }> = [];
  for (const f of set.manifest.files) {
    copies.push({ rel: f.path, from: set.files.get(f.path)!, size: f.size });
    if (f.merkle) {
      const from = joinInside(set.dir, f.merkle.hashTreeFile);
      if (from.isErr()) return from.error;
      copies.push({
        rel: f.merkle.hashTreeFile,
        from: from.value,
        size: f.merkle.hashOffset + f.merkle.hashTreeSize,
      });
    }
  }
  const signature = await readFile(path.join(set.dir, SIGNATURE_FILE));
  const total =
    copies.reduce((n, c) => n + c.size, 0) + set.manifestBytes.length + signature.length;

  let exists = await lstat(finalDir).then(
    () => true,
    () => false,
  );
  let early: VerifiedImageSet | undefined;
  if (exists && previousSetId !== setId) {
    // Left complete by an interrupted run: keep it if it verifies, else write it again.
    const pre = await verifyImageSet(finalDir, verifyOptions(set, options, progress));
    if (pre.isErr() && pre.error.code === "ABORTED") return pre.error;
    if (pre.isErr()) {
      await removeDurably(setsDir, setId);
      exists = false;
    } else early = pre.value;
  }
  if (!exists) {
    const fs = await statfs(root);
    const partitionBytes = fs.blocks * fs.bsize;
    if (partitionBytes < set.manifest.minimumPartitionBytes) {
      return {
        code: "IMAGE_PARTITION_TOO_SMALL",
        message: `The recovery partition at ${root} has ${partitionBytes} bytes; this image set needs at least ${set.manifest.minimumPartitionBytes}.`,
        path: root,
        minimumBytes: set.manifest.minimumPartitionBytes,
        partitionBytes,
      };
    }
    const availableBytes = fs.bavail * fs.bsize;
    const requiredBytes = total + (options.reserveBytes ?? 1024 * 1024);
    progress({ phase: "space", requiredBytes, availableBytes });
    if (availableBytes < requiredBytes) {
      return {
        code: "IMAGE_INSUFFICIENT_SPACE",
        message: `The image set needs ${requiredBytes} bytes on ${root}; only ${availableBytes} are free.`,
        path: root,
        requiredBytes,
        availableBytes,
      };
    }
    const partial = path.join(setsDir, `.partial-${setId}-${process.pid}`);
    await mkdir(partial);
    let done = 0;
    for (const c of copies) {
      const to = joinInside(partial, c.rel);
      if (to.isErr()) return to.error;
      const r = await durableCopy(
        c.from,
        to.value,
        (n) => {
          done += n;
          progress({ phase: "copy", file: c.rel, bytesDone: done, bytesTotal: total });
        },
        options.signal,
      );
      if (r === "aborted") return abortedError("copying the image set");
    }
    await writeDurable(path.join(partial, SIGNATURE_FILE), signature);
    await writeDurable(path.join(partial, MANIFEST_FILE), set.manifestBytes);
    progress({ phase: "sync" });
    await fsyncTree(partial);
    await rename(partial, finalDir);
    await fsyncDirectory(setsDir);
  }
  // Verify on the target (also a set left complete by an interrupted run) before it can become current.
  const verified = early
    ? ok(early)
    : await verifyImageSet(finalDir, verifyOptions(set, options, progress));
  if (verified.isErr()) {
    if (verified.error.code !== "ABORTED" && previousSetId !== setId)
      await removeDurably(setsDir, setId);
    return verified.error;
  }
  if (rollback) {
    // Logged before the older set can become current: no unrecorded rollback.
    const logged = await recordRollback(root, rollback);
    if (logged.isErr()) return logged.error;
  }
  if (previousSetId !== setId) {
    progress({ phase: "switch", setId });
    const next = path.join(root, `.${CURRENT}.new-${process.pid}`);
    await rm(next, { force: true });
    await symlink(`${SETS}/${setId}`, next);
    await rename(next, path.join(root, CURRENT));
    await fsyncDirectory(root);
  }
  // The partition's floor: raised to this set, or (after an override) set to it.
  const recorded = rollback
    ? offeredEpoch
    : Math.max(offeredEpoch, floor.value.installedEpoch ?? 0, floor.value.recordedEpoch ?? 0);
  if (recorded !== floor.value.recordedEpoch) {
    const wrote = await writeRecordedEpoch(root, recorded);
    if (wrote.isErr()) return wrote.error;
  }
  const removed = await removeOthers(root, setId, false);
  progress({ phase: "cleanup", removed });
  return { root, setId, dir: finalDir, previousSetId, verified: verified.value, rollback };
}

function verifyOptions(
  set: VerifiedImageSet,
  options: InstallImageSetOptions,
  progress: (e: InstallProgress) => void,
) {
  return {
    trustedKeys: trustedKeysOf(set),
    expect: { product: set.manifest.product, version: set.manifest.version },
    mode: options.verifyMode ?? ("full" as const),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (event: VerifyProgress) => progress({ phase: "verify", event }),
  };
}
