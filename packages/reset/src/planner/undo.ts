import { createPlan, type Plan } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { bootStagingDir, oldRootName, RESET_MARKER, ROOT_SUBVOLUME } from "../layout.js";
import type { UndoResetRequest } from "../requests.js";
import type { BtrfsState, KeptRootState, SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { planWarnings } from "../warnings.js";
import {
  requireBtrfs,
  requireSpace,
  requireStamp,
  requireSubvolume,
  SNAPSHOT_HEADROOM_BYTES,
  subvolume,
  warningsFor,
} from "./common.js";

/** The kept root to bring back: the one named, else the newest; with its /boot payload. */
function requireKeptRoot(
  state: SystemState,
  btrfs: BtrfsState,
  reset: string | undefined,
): Result<KeptRootState & { bootPath: string }, ResetPlanError> {
  const kept = (state.keptRoots ?? []).filter((k) => subvolume(btrfs, k.rootPath) !== undefined);
  const chosen = reset === undefined ? kept.at(-1) : kept.find((k) => k.stamp === reset);
  if (chosen === undefined)
    return err({
      code: "RESET_UNSUPPORTED_LAYOUT",
      message:
        reset === undefined
          ? "There is no reset to undo: no old root (root.old-*) is kept on this machine."
          : `There is no old root of the reset ${reset} (root.old-${reset}) on this machine.`,
      missing: reset === undefined ? "root.old-*" : oldRootName(reset),
    });
  const sub = subvolume(btrfs, chosen.rootPath);
  if (chosen.bootPath === undefined || chosen.bootFiles.length === 0 || sub?.readOnly)
    return err({
      code: "RESET_UNSUPPORTED_LAYOUT",
      message: sub?.readOnly
        ? `${chosen.rootPath} is read-only; it cannot become the root again.`
        : `The reset ${chosen.stamp} did not keep the /boot payload its old root booted with, so undoing it would leave kernels without their modules; copy files from ${chosen.rootPath} instead.`,
      missing: `kept /boot payload of ${chosen.rootPath}`,
    });
  return ok({ ...chosen, bootPath: chosen.bootPath });
}

/**
 * Plan undoing a reset, keeping /home: the root the reset kept
 * (`root.old-<stamp>`) is swapped back in by one RENAME_EXCHANGE, the root
 * in use now is kept as `root.old-<request stamp>` with a copy of its /boot
 * payload (so the undo can be undone), and /boot is brought back to the
 * payload kept beside the old root. Crash-safe like every swap: the journal
 * and the exchange's recorded UUIDs decide on resume.
 */
export function planUndoReset(
  state: SystemState,
  request: UndoResetRequest,
): Result<Plan, ResetPlanError> {
  const stamp = request.stamp;
  return requireStamp(state, stamp).andThen(() =>
    requireBtrfs(state).andThen((btrfs) =>
      requireSubvolume(btrfs, ROOT_SUBVOLUME).andThen(() =>
        requireKeptRoot(state, btrfs, request.reset).andThen((kept) =>
          requireSpace("the Btrfs filesystem", SNAPSHOT_HEADROOM_BYTES, btrfs.freeBytes).andThen(
            () => {
              const files = kept.bootFiles.map((f) => ({
                path: f.path,
                bytes: f.bytes,
                sha256: f.sha256,
              }));
              const rootBytes = subvolume(btrfs, ROOT_SUBVOLUME)?.bytes;
              const keptAs = oldRootName(stamp);
              return createPlan({
                kind: request.kind,
                title: `Undo the reset of ${kept.stamp}: bring back the system as it was before it, keeping /home`,
                target: `btrfs:${btrfs.fsUuid}`,
                ...planWarnings(warningsFor(state, false)),
                steps: [
                  makeStep("check", "reset.check", { fsUuid: btrfs.fsUuid }),
                  makeStep("prepare-root", "reset.prepare-root", {
                    subvolume: kept.rootPath,
                    stamp,
                    kind: request.kind,
                    marker: RESET_MARKER,
                    firstBoot: false,
                  }),
                  makeStep("keep-boot", "reset.keep-boot", { stamp }),
                  makeStep("stage-boot", "reset.stage-boot", {
                    sourceDir: kept.bootPath,
                    staging: bootStagingDir(stamp),
                    files,
                  }),
                  makeStep("swap-root", "reset.exchange", {
                    a: ROOT_SUBVOLUME,
                    b: kept.rootPath,
                    stamp,
                    marker: RESET_MARKER,
                    ...(rootBytes === undefined ? {} : { bytes: rootBytes }),
                    keptAs,
                  }),
                  makeStep("retire-old-root", "reset.rename", {
                    from: kept.rootPath,
                    to: keptAs,
                    oldOf: "swap-root",
                  }),
                  makeStep("install-boot", "reset.install-boot", {
                    staging: bootStagingDir(stamp),
                    files,
                    sourceDir: kept.bootPath,
                  }),
                  makeStep("drop-kept-boot", "reset.delete-subvolume", {
                    role: "scratch",
                    path: kept.bootPath,
                  }),
                ],
              });
            },
          ),
        ),
      ),
    ),
  );
}
