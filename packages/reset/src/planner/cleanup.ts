import { createPlan, type Plan } from "@lifeboat/core";
import { err, type Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import type { SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { requireBtrfs } from "./common.js";

const LEFTOVER = /^(root\.old|home\.old)-[0-9]{8}T[0-9]{6}Z$/;
/** The /boot payload a reset kept beside its old root (see `keptBootName`). */
const KEPT_BOOT = /^\.lifeboat\/boot\.old-[0-9]{8}T[0-9]{6}Z$/;

/** Plan deleting the old roots kept by earlier resets. */
export function planCleanup(state: SystemState): Result<Plan, ResetPlanError> {
  return requireBtrfs(state).andThen((btrfs) => {
    const roots = btrfs.subvolumes.filter((s) => LEFTOVER.test(s.path));
    // A kept /boot payload goes with its root; its loss is that root's ("the system as it was").
    const boots = btrfs.subvolumes.filter((s) => KEPT_BOOT.test(s.path));
    if (roots.length === 0)
      return err<never, ResetPlanError>({
        code: "RESET_UNSUPPORTED_LAYOUT",
        message: "There is nothing to clean up: no old roots are kept.",
        missing: "root.old-*",
      });
    return createPlan({
      kind: "cleanup",
      title: `Delete ${roots.length === 1 ? "the old root" : `${roots.length} old roots`} kept by earlier resets`,
      target: `btrfs:${btrfs.fsUuid}`,
      warnings: [],
      steps: [
        ...roots.map((s, i) =>
          makeStep(`drop-${i + 1}`, "reset.delete-subvolume", {
            role: "data",
            path: s.path,
            readOnly: s.readOnly,
            ...(s.bytes === undefined ? {} : { bytes: s.bytes }),
          }),
        ),
        ...boots.map((s, i) =>
          makeStep(`drop-boot-${i + 1}`, "reset.delete-subvolume", {
            role: "scratch",
            path: s.path,
          }),
        ),
      ],
    });
  });
}
