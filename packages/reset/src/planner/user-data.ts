import { createPlan, type Plan, type PlanStep } from "@lifeboat/core";
import { ok, type Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { HOME_SUBVOLUME, newHomeName } from "../layout.js";
import type { ResetUserDataRequest } from "../requests.js";
import type { SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { planWarnings } from "../warnings.js";
import {
  homeContents,
  requireBtrfs,
  requireNotBusy,
  requireStamp,
  requireSubvolume,
  warningsFor,
} from "./common.js";
import { rescueSteps } from "./rescue.js";

/** Plan deleting and re-creating home, optionally after a rescue copy. */
export function planUserData(
  state: SystemState,
  request: ResetUserDataRequest,
): Result<Plan, ResetPlanError> {
  return requireStamp(state, request.stamp)
    .andThen(() => requireNotBusy(state, ["/home"]))
    .andThen(() => requireBtrfs(state))
    .andThen((btrfs) => requireSubvolume(btrfs, HOME_SUBVOLUME).map(() => btrfs))
    .andThen((btrfs) =>
      (request.rescueTo
        ? rescueSteps(state, request.stamp, request.rescueTo, undefined, "tree").map((r) => r.steps)
        : ok<PlanStep[], ResetPlanError>([])
      ).andThen((rescue) => {
        const fresh = newHomeName(request.stamp);
        return createPlan({
          kind: request.kind,
          title: request.rescueTo
            ? `Copy your files to ${request.rescueTo.directory}, then erase them from this machine`
            : "Erase every user's files (home) from this machine",
          target: `btrfs:${btrfs.fsUuid}`,
          ...planWarnings(warningsFor(state, false)),
          steps: [
            makeStep("check", "reset.check", { fsUuid: btrfs.fsUuid }),
            ...rescue,
            makeStep("new-home", "reset.create-subvolume", { path: fresh }),
            makeStep("swap-home", "reset.exchange", {
              a: HOME_SUBVOLUME,
              b: fresh,
              stamp: request.stamp,
              marker: "",
              ...homeContents(btrfs),
            }),
            makeStep("drop-old-home", "reset.delete-subvolume", {
              role: "swapped-out",
              path: fresh,
              oldOf: "swap-home",
            }),
          ],
        });
      }),
    );
}
