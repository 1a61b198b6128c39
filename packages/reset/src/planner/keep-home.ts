import { createPlan, type Plan } from "@lifeboat/core";
import type { Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { FACTORY_BOOT, FACTORY_ROOT, newRootName, ROOT_SUBVOLUME } from "../layout.js";
import type { ResetKeepHomeRequest } from "../requests.js";
import type { SystemState } from "../state.js";
import {
  requireBtrfs,
  requireFactory,
  requireSpace,
  requireStamp,
  requireSubvolume,
  SNAPSHOT_HEADROOM_BYTES,
  step,
  warningsFor,
} from "./common.js";
import { swapRootSteps } from "./system-steps.js";

/** Plan a system reset from the factory snapshot that keeps /home. */
export function planKeepHome(
  state: SystemState,
  request: ResetKeepHomeRequest,
): Result<Plan, ResetPlanError> {
  return requireStamp(request.stamp).andThen((stamp) =>
    requireBtrfs(state).andThen((btrfs) =>
      requireSubvolume(btrfs, ROOT_SUBVOLUME).andThen(() =>
        requireFactory(state, btrfs).andThen((snap) =>
          requireSpace("the Btrfs filesystem", SNAPSHOT_HEADROOM_BYTES, btrfs.freeBytes).map(() => {
            const factory = state.factory!;
            const fresh = newRootName(stamp);
            return createPlan({
              kind: request.kind,
              title: `Reset the system to factory state (${factory.product} ${factory.build}), keeping /home`,
              target: `btrfs:${btrfs.fsUuid}`,
              warnings: warningsFor(state, false),
              steps: [
                step(
                  "check",
                  "reset.check",
                  "Check that the filesystem and the factory snapshot are the ones planned for",
                  { fsUuid: btrfs.fsUuid, factory: FACTORY_ROOT, factoryUuid: snap.uuid },
                ),
                step(
                  "snapshot",
                  "reset.snapshot",
                  `Make ${fresh} as a writable snapshot of the factory snapshot (copy-on-write, no copying)`,
                  {
                    source: FACTORY_ROOT,
                    sourceUuid: snap.uuid,
                    target: fresh,
                    stamp,
                    marker: "var/lib/lifeboat/reset.json",
                  },
                ),
                ...swapRootSteps(
                  btrfs,
                  stamp,
                  request.kind,
                  { sourceDir: FACTORY_BOOT, files: factory.bootFiles },
                  { keepOld: true },
                ),
              ],
            });
          }),
        ),
      ),
    ),
  );
}
