import { createPlan, type Plan } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import { FACTORY_CHECKPOINT_ID } from "../checkpoint/layout.js";
import type { ResetPlanError } from "../errors.js";
import {
  FACTORY_BOOT,
  FACTORY_ROOT,
  newRootName,
  RESET_MARKER,
  ROOT_SUBVOLUME,
} from "../layout.js";
import type { BootFile, BtrfsState, SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { planWarnings } from "../warnings.js";
import {
  requireBtrfs,
  requireFactory,
  requireSpace,
  requireStamp,
  requireSubvolume,
  SNAPSHOT_HEADROOM_BYTES,
  subvolume,
  warningsFor,
} from "./common.js";
import { swapRootSteps } from "./system-steps.js";

/** Where a new root comes from: the factory snapshot or another checkpoint. */
export interface RootSource {
  readonly id: string;
  readonly rootPath: string;
  readonly rootUuid: string;
  readonly bootPath: string;
  readonly bootFiles: readonly BootFile[];
  /** `"the factory snapshot"`, `"checkpoint before-f41"`. */
  readonly noun: string;
  readonly factory: boolean;
}

/** The factory snapshot as a root source (the first checkpoint). */
export function factorySource(state: SystemState): RootSource {
  return {
    id: FACTORY_CHECKPOINT_ID,
    rootPath: FACTORY_ROOT,
    rootUuid: state.factory?.snapshotUuid ?? "",
    bootPath: FACTORY_BOOT,
    bootFiles: state.factory?.bootFiles ?? [],
    noun: "the factory snapshot",
    factory: true,
  };
}

/**
 * The steps that put a writable snapshot of `source` in place of root,
 * keeping the old root and /home, and bring /boot to the source's payload.
 * A factory reset and a rollback to any checkpoint are this same plan.
 */
export function rootFromSnapshotSteps(
  btrfs: BtrfsState,
  stamp: string,
  kind: string,
  source: RootSource,
) {
  const fresh = newRootName(stamp);
  return [
    makeStep("check", "reset.check", {
      fsUuid: btrfs.fsUuid,
      factory: source.rootPath,
      factoryUuid: source.rootUuid,
    }),
    makeStep("snapshot", "reset.snapshot", {
      source: source.rootPath,
      sourceUuid: source.rootUuid,
      target: fresh,
      stamp,
      marker: RESET_MARKER,
    }),
    ...swapRootSteps(
      btrfs,
      stamp,
      kind,
      { sourceDir: source.bootPath, files: source.bootFiles },
      source.factory ? { keepOld: true } : { keepOld: true, firstBoot: false },
    ),
  ];
}

/** The checks every snapshot-based plan makes; then the plan from `make`. */
export function planFromSnapshot(
  state: SystemState,
  stamp: string,
  source: (btrfs: BtrfsState) => Result<RootSource, ResetPlanError>,
  make: (btrfs: BtrfsState, source: RootSource) => Result<Plan, ResetPlanError>,
): Result<Plan, ResetPlanError> {
  return requireStamp(state, stamp).andThen(() =>
    requireBtrfs(state).andThen((btrfs) =>
      requireSubvolume(btrfs, ROOT_SUBVOLUME).andThen(() =>
        source(btrfs).andThen((src) =>
          requireSpace("the Btrfs filesystem", SNAPSHOT_HEADROOM_BYTES, btrfs.freeBytes).andThen(
            () => make(btrfs, src),
          ),
        ),
      ),
    ),
  );
}

/** The checkpoint `id`, present and matching its manifest. */
function requireCheckpoint(
  state: SystemState,
  btrfs: BtrfsState,
  id: string,
): Result<RootSource, ResetPlanError> {
  if (id === FACTORY_CHECKPOINT_ID)
    return requireFactory(state, btrfs).map(() => factorySource(state));
  const cp = state.checkpoints?.find((c) => c.id === id && !c.factory);
  if (cp === undefined)
    return err({
      code: "RESET_NO_CHECKPOINT",
      message: `There is no checkpoint ${JSON.stringify(id)} on this machine (see \`lifeboat checkpoint list\`).`,
      id,
      reason: "missing",
    });
  const snap = subvolume(btrfs, cp.rootPath);
  if (!cp.intact || snap === undefined || snap.uuid !== cp.rootUuid || !snap.readOnly)
    return err({
      code: "RESET_NO_CHECKPOINT",
      message: `The checkpoint ${id} does not match its manifest (a snapshot is missing, changed or writable).`,
      id,
      reason: "damaged",
    });
  return ok({
    id: cp.id,
    rootPath: cp.rootPath,
    rootUuid: cp.rootUuid,
    bootPath: cp.bootPath,
    bootFiles: cp.bootFiles,
    noun: `checkpoint ${cp.id}`,
    factory: false,
  });
}

/**
 * Plan a rollback to a checkpoint, keeping /home: the same atomic swap as
 * the factory reset (a writable snapshot of the checkpoint's root swapped in
 * by one RENAME_EXCHANGE, the old root kept as `root.old-<stamp>`, /boot
 * brought back to the checkpoint's payload). The checkpoint `factory` is the
 * factory snapshot.
 */
export function planRollback(
  state: SystemState,
  request: { readonly kind: "rollback"; readonly checkpoint: string; readonly stamp: string },
): Result<Plan, ResetPlanError> {
  if (typeof request.checkpoint !== "string" || request.checkpoint === "")
    return err({
      code: "RESET_BAD_REQUEST",
      message: "A rollback needs the id of a checkpoint (see `lifeboat checkpoint list`).",
      field: "checkpoint",
    });
  return planFromSnapshot(
    state,
    request.stamp,
    (btrfs) => requireCheckpoint(state, btrfs, request.checkpoint),
    (btrfs, source) => {
      const cp = state.checkpoints?.find((c) => c.id === source.id);
      const when = cp ? `, taken ${cp.createdAt}${cp.reason ? `: ${cp.reason}` : ""}` : "";
      return createPlan({
        kind: request.kind,
        title: source.factory
          ? `Roll the system back to the factory checkpoint (${state.factory?.product ?? "?"} ${state.factory?.build ?? "?"}), keeping /home`
          : `Roll the system back to checkpoint ${source.id}${when}, keeping /home`,
        target: `btrfs:${btrfs.fsUuid}`,
        ...planWarnings(warningsFor(state, false)),
        steps: rootFromSnapshotSteps(btrfs, request.stamp, request.kind, source),
      });
    },
  );
}
