import { createPlan, type Plan, type PlanStep } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { HOME_SUBVOLUME, LIFEBOAT_DIR, newHomeName, ROOT_SUBVOLUME } from "../layout.js";
import type { FullRestoreRequest } from "../requests.js";
import type { SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { planWarning, planWarnings } from "../warnings.js";
import { homeContents, osPartitions, requireNotBusy, warningsFor } from "./common.js";
import { recoveredBootDir, unpackSteps } from "./from-recovery.js";
import { swapRootSteps } from "./system-steps.js";

/** The step removing other operating systems, by partition identity (none when there are none). */
function removeOtherOsSteps(state: SystemState): Result<PlanStep[], ResetPlanError> {
  if (state.otherOses.length === 0) return ok([]);
  const systems = [];
  for (const os of state.otherOses) {
    const partitions = [];
    for (const p of osPartitions(state, os)) {
      if (p.partUuid === undefined)
        return err({
          code: "RESET_UNSUPPORTED_LAYOUT",
          message: `Partition ${p.number} of ${os.name} has no unique GUID (not a GPT disk?); it cannot be removed safely.`,
          missing: `the unique GUID of partition ${p.number}`,
        });
      partitions.push({
        number: p.number,
        partUuid: p.partUuid,
        typeGuid: p.typeGuid,
        ...(p.name ? { name: p.name } : {}),
      });
    }
    if (partitions.length > 0) systems.push({ name: os.name, bytes: os.bytes, partitions });
  }
  return ok(
    systems.length ? [makeStep("remove-other-os", "reset.remove-partitions", { systems })] : [],
  );
}

/** Plan the full factory restore: everything but the ESP and the recovery partition is rebuilt. */
export function planFullRestore(
  state: SystemState,
  request: FullRestoreRequest,
): Result<Plan, ResetPlanError> {
  return requireNotBusy(state, ["/home"]).andThen(() =>
    unpackSteps(state, request.stamp, request.allowRollback).andThen(
      ({ btrfs, steps, rollbackWarnings }) =>
        removeOtherOsSteps(state).andThen((otherSteps) => {
          const recovery = state.recovery!;
          const stamp = request.stamp;
          const freshHome = newHomeName(stamp);
          const extra = btrfs.subvolumes
            .filter((s) => !keepInFullRestore(s.path))
            .sort(
              (a, b) =>
                b.path.split("/").length - a.path.split("/").length || a.path.localeCompare(b.path),
            );
          return createPlan({
            kind: request.kind,
            title: `Full factory restore (${recovery.product ?? "?"} ${recovery.build ?? "?"}): ALL user data will be erased`,
            target: `btrfs:${btrfs.fsUuid}`,
            ...planWarnings([
              planWarning("home-erased", homeBytes(state)),
              ...rollbackWarnings,
              ...warningsFor(state, true),
            ]),
            steps: [
              ...steps,
              makeStep("new-home", "reset.create-subvolume", { path: freshHome }),
              ...swapRootSteps(
                btrfs,
                stamp,
                request.kind,
                { sourceDir: recoveredBootDir(stamp), files: recovery.bootFiles },
                { keepOld: false },
              ),
              makeStep("swap-home", "reset.exchange", {
                a: HOME_SUBVOLUME,
                b: freshHome,
                stamp,
                marker: "",
                ...homeContents(btrfs),
              }),
              makeStep("drop-old-home", "reset.delete-subvolume", {
                role: "swapped-out",
                path: freshHome,
                oldOf: "swap-home",
              }),
              ...extra.map((s, i) =>
                makeStep(`drop-extra-${i + 1}`, "reset.delete-subvolume", {
                  role: "data",
                  path: s.path,
                  readOnly: s.readOnly,
                  ...(s.bytes === undefined ? {} : { bytes: s.bytes }),
                }),
              ),
              makeStep("drop-recovered-boot", "reset.delete-subvolume", {
                role: "scratch",
                path: recoveredBootDir(stamp),
              }),
              ...otherSteps,
            ],
          });
        }),
    ),
  );
}

function keepInFullRestore(path: string): boolean {
  return (
    path === ROOT_SUBVOLUME ||
    path === HOME_SUBVOLUME ||
    path.startsWith(`${LIFEBOAT_DIR}/factory/`) ||
    path.startsWith(`${HOME_SUBVOLUME}/`) ||
    path.startsWith(`${ROOT_SUBVOLUME}/`)
  );
}

function homeBytes(state: SystemState): { bytes?: number } {
  const home = state.btrfs?.subvolumes.find((s) => s.path === HOME_SUBVOLUME);
  return home?.bytes === undefined ? {} : { bytes: home.bytes };
}
