import { createPlan, type Plan } from "@lifeboat/core";
import type { Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import type { ResetKeepHomeRequest } from "../requests.js";
import type { SystemState } from "../state.js";
import { planWarnings } from "../warnings.js";
import { requireFactory, warningsFor } from "./common.js";
import { factorySource, planFromSnapshot, rootFromSnapshotSteps } from "./rollback.js";

/**
 * Plan a system reset from the factory snapshot that keeps /home: the
 * rollback to the first checkpoint, the factory one (see `planRollback`).
 */
export function planKeepHome(
  state: SystemState,
  request: ResetKeepHomeRequest,
): Result<Plan, ResetPlanError> {
  return planFromSnapshot(
    state,
    request.stamp,
    (btrfs) => requireFactory(state, btrfs).map(() => factorySource(state)),
    (btrfs, source) => {
      const factory = state.factory!;
      return createPlan({
        kind: request.kind,
        title: `Reset the system to factory state (${factory.product} ${factory.build}), keeping /home`,
        target: `btrfs:${btrfs.fsUuid}`,
        ...planWarnings(warningsFor(state, false)),
        steps: rootFromSnapshotSteps(btrfs, request.stamp, request.kind, source),
      });
    },
  );
}
