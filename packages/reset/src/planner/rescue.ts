import { createPlan, joinInside, type Plan, type PlanStep } from "@lifeboat/core";
import { err, type Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { HOME_SUBVOLUME, rescueSnapshotName } from "../layout.js";
import type { RescueTarget } from "../requests.js";
import type { BtrfsState, SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { planWarnings } from "../warnings.js";
import {
  requireBtrfs,
  requireSpace,
  requireStamp,
  requireSubvolume,
  warningsFor,
} from "./common.js";

/** The name of a rescue copy on the target. */
export const rescueCopyName = (stamp: string, format: "tree" | "send-stream"): string =>
  format === "tree" ? `lifeboat-rescue-${stamp}` : `lifeboat-rescue-${stamp}.btrfs-send`;

/** The steps of a rescue copy of home. */
export function rescueSteps(
  state: SystemState,
  stamp: string,
  target: RescueTarget,
  paths: readonly string[] | undefined,
  format: "tree" | "send-stream",
): Result<{ btrfs: BtrfsState; steps: PlanStep[]; bytes: number }, ResetPlanError> {
  return requireStamp(state, stamp).andThen(() =>
    requireBtrfs(state).andThen((btrfs) =>
      requireSubvolume(btrfs, HOME_SUBVOLUME).andThen((home) => {
        const chosen = paths ?? [];
        for (const p of chosen) {
          if (joinInside("/", p).isErr())
            return err<never, ResetPlanError>({
              code: "RESET_BAD_REQUEST",
              message: `The rescue path ${JSON.stringify(p)} is not a relative path inside home.`,
              field: "paths",
            });
        }
        if (format === "send-stream" && chosen.length > 0)
          return err<never, ResetPlanError>({
            code: "RESET_BAD_REQUEST",
            message: "A send stream copies all of home; choose the tree format to copy some paths.",
            field: "format",
          });
        const bytes = home.bytes ?? 0;
        return requireSpace("the rescue target", bytes, target.freeBytes).map(() => {
          const snapshot = rescueSnapshotName(stamp);
          const copy = {
            snapshot,
            directory: target.directory,
            name: rescueCopyName(stamp, format),
            paths: [...chosen],
            format,
          };
          return {
            btrfs,
            bytes,
            steps: [
              makeStep("rescue-snapshot", "reset.snapshot", {
                source: HOME_SUBVOLUME,
                target: snapshot,
                readOnly: true,
                stamp,
              }),
              makeStep("rescue-copy", "reset.rescue-copy", { ...copy, bytes }),
              makeStep("rescue-verify", "reset.rescue-verify", copy),
              makeStep("rescue-release", "reset.delete-subvolume", {
                role: "scratch",
                path: snapshot,
              }),
            ],
          };
        });
      }),
    ),
  );
}

/** Plan a rescue copy of home to external media. */
export function planRescue(
  state: SystemState,
  request: {
    readonly kind: "rescue";
    readonly stamp: string;
    readonly target: RescueTarget;
    readonly paths?: readonly string[];
    readonly format?: "tree" | "send-stream";
  },
): Result<Plan, ResetPlanError> {
  return rescueSteps(
    state,
    request.stamp,
    request.target,
    request.paths,
    request.format ?? "tree",
  ).andThen(({ btrfs, steps }) =>
    createPlan({
      kind: request.kind,
      title: `Copy your files to ${request.target.directory}`,
      target: `btrfs:${btrfs.fsUuid}`,
      ...planWarnings(warningsFor(state, false)),
      steps,
    }),
  );
}
