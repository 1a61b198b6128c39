import { createPlan, type DataLoss, type Plan, type PlanStep } from "@lifeboat/core";
import type { Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { LIFEBOAT_DIR, newRootName, partialRootName } from "../layout.js";
import type { BtrfsState, SystemState } from "../state.js";
import {
  requireBtrfs,
  requireSpace,
  requireStamp,
  requireVerifiedImage,
  SNAPSHOT_HEADROOM_BYTES,
  step,
  warningsFor,
} from "./common.js";
import { swapRootSteps } from "./system-steps.js";
import { formatBytes } from "./words.js";

/** Where the recovered /boot payload is unpacked before it is staged. */
export const recoveredBootDir = (stamp: string): string => `${LIFEBOAT_DIR}/boot-${stamp}`;

/** The checks and the first steps of every plan that unpacks the recovery image. */
export function unpackSteps(
  state: SystemState,
  stamp: string,
): Result<{ btrfs: BtrfsState; steps: PlanStep[] }, ResetPlanError> {
  return requireStamp(stamp).andThen(() =>
    requireBtrfs(state).andThen((btrfs) =>
      requireVerifiedImage(state).andThen(({ imageDir, rootBytes }) => {
        const needed = Math.ceil(rootBytes * 1.1) + SNAPSHOT_HEADROOM_BYTES;
        return requireSpace("the Btrfs filesystem", needed, btrfs.freeBytes).map(() => ({
          btrfs,
          steps: [
            step("check", "reset.check", "Check that the filesystem is the one planned for", {
              fsUuid: btrfs.fsUuid,
            }),
            step(
              "verify-image",
              "reset.verify-image",
              "Verify the recovery image set again (signature and digests) just before using it",
              { imageDir },
            ),
            step(
              "unpack",
              "reset.unpack",
              `Unpack the factory system (${formatBytes(rootBytes)}) from the recovery image into ${newRootName(stamp)}`,
              {
                imageDir,
                partial: partialRootName(stamp),
                target: newRootName(stamp),
                bootDir: recoveredBootDir(stamp),
                rootBytes,
              },
              { preconditions: [`${formatBytes(needed)} free on the Btrfs filesystem`] },
            ),
          ],
        }));
      }),
    ),
  );
}

/** Plan a system reset from the verified recovery image, keeping /home. */
export function planFromRecovery(
  state: SystemState,
  request: { readonly kind: "reset-from-recovery"; readonly stamp: string },
): Result<Plan, ResetPlanError> {
  return unpackSteps(state, request.stamp).andThen(({ btrfs, steps }) => {
    const recovery = state.recovery!;
    const warnings = warningsWithFactory(state);
    return createPlan({
      kind: request.kind,
      title: `Reset the system from the recovery partition (${recovery.product ?? "?"} ${recovery.build ?? "?"}), keeping /home`,
      target: `btrfs:${btrfs.fsUuid}`,
      warnings,
      steps: [
        ...steps,
        ...swapRootSteps(
          btrfs,
          request.stamp,
          request.kind,
          { sourceDir: recoveredBootDir(request.stamp), files: recovery.bootFiles },
          { keepOld: true },
        ),
        step(
          "drop-recovered-boot",
          "reset.delete-subvolume",
          "Remove the unpacked copy of the /boot payload",
          { path: recoveredBootDir(request.stamp) },
        ),
      ],
    });
  });
}

function warningsWithFactory(state: SystemState): string[] {
  const out: string[] = [];
  if (state.factory !== undefined && !state.factory.intact)
    out.push("The factory snapshot is damaged; the recovery image is used instead.");
  return [...out, ...warningsFor(state, false)];
}

/** Losses of subvolumes a full restore deletes besides root and home. */
export function extraSubvolumeLosses(
  btrfs: BtrfsState,
  keep: (path: string) => boolean,
): DataLoss[] {
  return btrfs.subvolumes
    .filter((s) => !keep(s.path))
    .map((s) => ({
      kind: s.readOnly ? ("snapshot" as const) : ("subvolume" as const),
      what: `${s.readOnly ? "snapshot" : "subvolume"} ${s.path}`,
      ...(s.bytes === undefined ? {} : { bytes: s.bytes }),
      detail: "deleted for good",
    }));
}
