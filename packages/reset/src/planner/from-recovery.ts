import { createPlan, type Plan, type PlanStep } from "@lifeboat/core";
import type { Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { newRootName, partialRootName, recoveredBootDir } from "../layout.js";
import type { ResetFromRecoveryRequest } from "../requests.js";
import type { BtrfsState, SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { unpackNeededBytes } from "../steps/image-steps.js";
import { type PlannedWarning, planWarning, planWarnings } from "../warnings.js";
import {
  requireBtrfs,
  requireEpoch,
  requireSpace,
  requireStamp,
  requireVerifiedImage,
  warningsFor,
} from "./common.js";
import { swapRootSteps } from "./system-steps.js";

export { recoveredBootDir } from "../layout.js";

/** The checks and the first steps of every plan that unpacks the recovery image. */
export function unpackSteps(
  state: SystemState,
  stamp: string,
  allowRollback?: { readonly reason: string },
): Result<
  { btrfs: BtrfsState; steps: PlanStep[]; rollbackWarnings: PlannedWarning[] },
  ResetPlanError
> {
  return requireStamp(state, stamp).andThen(() =>
    requireBtrfs(state).andThen((btrfs) =>
      requireVerifiedImage(state).andThen(({ imageSet, rootBytes }) =>
        requireEpoch(state, allowRollback).andThen((rollbackWarnings) =>
          requireSpace("the Btrfs filesystem", unpackNeededBytes(rootBytes), btrfs.freeBytes).map(
            () => ({
              btrfs,
              rollbackWarnings,
              steps: [
                makeStep("check", "reset.check", { fsUuid: btrfs.fsUuid }),
                makeStep("verify-image", "reset.verify-image", { imageSet }),
                makeStep("unpack", "reset.unpack", {
                  imageSet,
                  partial: partialRootName(stamp),
                  target: newRootName(stamp),
                  bootDir: recoveredBootDir(stamp),
                  rootBytes,
                }),
              ],
            }),
          ),
        ),
      ),
    ),
  );
}

/** Plan a system reset from the verified recovery image, keeping /home. */
export function planFromRecovery(
  state: SystemState,
  request: ResetFromRecoveryRequest,
): Result<Plan, ResetPlanError> {
  return unpackSteps(state, request.stamp, request.allowRollback).andThen(
    ({ btrfs, steps, rollbackWarnings }) => {
      const recovery = state.recovery!;
      const warnings = [...rollbackWarnings, ...warningsWithFactory(state)];
      return createPlan({
        kind: request.kind,
        title: `Reset the system from the recovery partition (${recovery.product ?? "?"} ${recovery.build ?? "?"}), keeping /home`,
        target: `btrfs:${btrfs.fsUuid}`,
        ...planWarnings(warnings),
        steps: [
          ...steps,
          ...swapRootSteps(
            btrfs,
            request.stamp,
            request.kind,
            { sourceDir: recoveredBootDir(request.stamp), files: recovery.bootFiles },
            { keepOld: true },
          ),
          makeStep("drop-recovered-boot", "reset.delete-subvolume", {
            role: "scratch",
            path: recoveredBootDir(request.stamp),
          }),
        ],
      });
    },
  );
}

function warningsWithFactory(state: SystemState): PlannedWarning[] {
  const out: PlannedWarning[] = [];
  if (state.factory !== undefined && !state.factory.intact)
    out.push(planWarning("factory-damaged", {}));
  return [...out, ...warningsFor(state, false)];
}
