import { mkdir } from "node:fs/promises";
import path from "node:path";
import * as btrfs from "@lifeboat/btrfs";
import { type CommandRunner, writeFileAtomic } from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import { effect, fail, must } from "../_internal/await.js";
import {
  createSubvolume,
  deleteSubvolume,
  snapshot,
  subvolumeAt,
  syncFilesystem,
} from "../_internal/btrfs.js";
import { copyFileVerified, exists } from "../_internal/fs.js";
import { describeBootPayload, kernelVersionsOf } from "../boot-payload.js";
import type { CheckpointExistsError, ResetError, UnsupportedLayoutError } from "../errors.js";
import { ROOT_SUBVOLUME, stampOf } from "../layout.js";
import {
  checkCheckpointName,
  checkpointBoot,
  checkpointDir,
  checkpointManifest,
  checkpointRoot,
} from "./layout.js";
import { readCheckpoints } from "./list.js";
import { type CheckpointManifest, readCheckpointManifest } from "./manifest.js";

/** The mounted machine a checkpoint is taken of. */
export interface CheckpointMachine {
  /** The Btrfs top level (subvolid=5), mounted. */
  readonly top: string;
  /** /boot, mounted. */
  readonly boot: string;
}

/** Options of {@link createCheckpoint}. */
export interface CreateCheckpointOptions {
  /** Why (shown in lists and plans): `"before dnf system-upgrade to Fedora 41"`. */
  readonly reason: string;
  /** The checkpoint's id; default the time stamp (`20261125T230000Z`). Checked: see `checkCheckpointName`. */
  readonly name?: string;
  /** Time recorded (default now). */
  readonly now?: Date;
}

/**
 * Take a checkpoint before a risky change (`dnf system-upgrade`, a major
 * version upgrade): a read-only snapshot of `root`
 * (`.lifeboat/checkpoints/<id>/root`, copy-on-write, no copying), the /boot
 * payload (kernels, initramfs, BLS entries) archived with SHA-256 into the
 * read-only subvolume `.lifeboat/checkpoints/<id>/boot`, and the manifest
 * written last (id, time, reason, kernel versions, parent checkpoint). Only
 * adds; never touches root, /boot or home.
 *
 * The manifest is the commit point: a run cut short leaves no checkpoint,
 * and running again with the same name removes its leftovers and takes it
 * afresh. A complete checkpoint of that name is never replaced
 * (`RESET_CHECKPOINT_EXISTS`). Names are checked
 * (`RESET_BAD_CHECKPOINT_NAME`).
 *
 * @example
 * ```ts
 * const cp = await createCheckpoint(runner, { top: "/mnt/top", boot: "/boot" }, {
 *   name: "before-f41",
 *   reason: "before dnf system-upgrade to Fedora 41",
 * });
 * if (cp.isOk()) console.log(cp.value.id, cp.value.boot.kernelVersions);
 * ```
 */
export function createCheckpoint(
  runner: CommandRunner,
  machine: CheckpointMachine,
  options: CreateCheckpointOptions,
): ResultAsync<CheckpointManifest, ResetError> {
  const { top, boot } = machine;
  const now = options.now ?? new Date();
  return effect(async () => {
    const id = await must(checkCheckpointName(options.name ?? stampOf(now)));
    const manifestFile = path.join(top, checkpointManifest(id));
    if (await exists(manifestFile)) {
      const old = await readCheckpointManifest(manifestFile);
      const e: CheckpointExistsError = {
        code: "RESET_CHECKPOINT_EXISTS",
        message: `A checkpoint named ${id} exists already; choose another name (or prune it first).`,
        id,
        createdAt: old.isOk() ? old.value.createdAt : "",
      };
      fail(e);
    }
    const root = await must(subvolumeAt(runner, top, ROOT_SUBVOLUME));
    if (root === undefined) {
      const e: UnsupportedLayoutError = {
        code: "RESET_UNSUPPORTED_LAYOUT",
        message: "The Btrfs has no subvolume root to take a checkpoint of.",
        missing: "subvolume root",
      };
      fail(e);
    }
    // Leftovers of a run cut short (no manifest): start again from scratch.
    const partialBoot = `${checkpointBoot(id)}.partial`;
    for (const left of [checkpointRoot(id), checkpointBoot(id), partialBoot])
      await must(deleteSubvolume(runner, top, left));
    await mkdir(path.join(top, checkpointDir(id)), { recursive: true });
    const subsBefore = await must(btrfs.listSubvolumes(runner, top));
    await must(snapshot(runner, top, ROOT_SUBVOLUME, checkpointRoot(id), { readOnly: true }));
    const payload = await must(describeBootPayload(boot));
    await must(createSubvolume(runner, top, partialBoot));
    for (const f of payload)
      await copyFileVerified(
        path.join(boot, f.path),
        path.join(top, partialBoot, f.path),
        f.sha256,
      );
    await must(snapshot(runner, top, partialBoot, checkpointBoot(id), { readOnly: true }));
    await must(deleteSubvolume(runner, top, partialBoot));
    const files = await must(describeBootPayload(path.join(top, checkpointBoot(id))));
    const snap = await must(subvolumeAt(runner, top, checkpointRoot(id)));
    const bootSnap = await must(subvolumeAt(runner, top, checkpointBoot(id)));
    const info = await must(btrfs.filesystemInfo(runner, top));
    const manifest: CheckpointManifest = {
      version: 1,
      kind: "checkpoint",
      id,
      reason: options.reason,
      createdAt: now.toISOString(),
      parent: parentOf(root, await readCheckpoints(top, subsBefore), subsBefore),
      root: {
        path: checkpointRoot(id),
        uuid: snap?.uuid ?? "",
        source: ROOT_SUBVOLUME,
        sourceUuid: root.uuid,
      },
      boot: {
        path: checkpointBoot(id),
        uuid: bootSnap?.uuid ?? "",
        files,
        kernelVersions: kernelVersionsOf(files),
      },
      btrfsUuid: info.uuid,
    };
    await must(writeFileAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`));
    await must(syncFilesystem(runner, top));
    return manifest;
  }, "create a checkpoint");
}

/**
 * The checkpoint the running root descends from: the one it was rolled back
 * to (root's parent UUID is that checkpoint's root), else the newest one
 * taken of this same root.
 */
function parentOf(
  root: { readonly uuid: string; readonly parentUuid: string | undefined },
  checkpoints: readonly { id: string; rootUuid: string; createdAt: string; rootPath: string }[],
  subs: readonly { path: string; uuid: string; parentUuid: string | undefined }[],
): string | null {
  const candidates = checkpoints.filter((c) => {
    const sub = subs.find((s) => s.path === c.rootPath);
    return c.rootUuid === root.parentUuid || sub?.parentUuid === root.uuid;
  });
  const newest = [...candidates].sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  return newest?.id ?? null;
}
