import { createPlan, type DataLoss, type Plan } from "@lifeboat/core";
import type { Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { HOME_SUBVOLUME, LIFEBOAT_DIR, newHomeName, ROOT_SUBVOLUME } from "../layout.js";
import type { FullRestoreRequest } from "../requests.js";
import type { SystemState } from "../state.js";
import { homeLoss, osLabel, requireNotBusy, step, warningsFor } from "./common.js";
import { extraSubvolumeLosses, recoveredBootDir, unpackSteps } from "./from-recovery.js";
import { swapRootSteps } from "./system-steps.js";
import { formatBytes } from "./words.js";

/** Plan the full factory restore: everything but the ESP and the recovery partition is rebuilt. */
export function planFullRestore(
  state: SystemState,
  request: FullRestoreRequest,
): Result<Plan, ResetPlanError> {
  return requireNotBusy(state, ["/home"]).andThen(() =>
    unpackSteps(state, request.stamp).andThen(({ btrfs, steps }) => {
      const recovery = state.recovery!;
      const stamp = request.stamp;
      const freshHome = newHomeName(stamp);
      const extra = btrfs.subvolumes
        .filter((s) => !keepInFullRestore(s.path))
        .map((s) => s.path)
        .sort((a, b) => b.split("/").length - a.split("/").length || a.localeCompare(b));
      const osLosses: DataLoss[] = state.otherOses.map((os) => ({
        kind: "operating-system",
        what: osLabel(os),
        bytes: os.bytes,
        detail: `partitions ${os.devices.join(", ")} are removed from the partition table`,
        loud: true,
      }));
      const osPartitions = state.otherOses.flatMap((os) => os.devices);
      const otherSteps = osPartitions.length
        ? [
            step(
              "remove-other-os",
              "reset.remove-partitions",
              `Remove ${state.otherOses.map(osLabel).join(", ")} from the partition table`,
              {
                partitions: state.disks.flatMap((d) =>
                  d.partitions
                    .filter((p) => osPartitions.includes(p.device))
                    .map((p) => ({
                      disk: d.device,
                      number: p.number,
                      device: p.device,
                      typeGuid: p.typeGuid,
                    })),
                ),
              },
              { destroys: osLosses, reversible: false },
            ),
          ]
        : [];
      return createPlan({
        kind: request.kind,
        title: `Full factory restore (${recovery.product ?? "?"} ${recovery.build ?? "?"}): ALL user data will be erased`,
        target: `btrfs:${btrfs.fsUuid}`,
        warnings: [
          `Every user's files in /home will be erased${homeBytes(state)}. Copy what you need first (rescue).`,
          ...warningsFor(state, true),
        ],
        steps: [
          ...steps,
          step("new-home", "reset.create-subvolume", `Create an empty ${freshHome}`, {
            path: freshHome,
          }),
          ...swapRootSteps(
            btrfs,
            stamp,
            request.kind,
            { sourceDir: recoveredBootDir(stamp), files: recovery.bootFiles },
            { keepOld: false },
          ),
          step(
            "swap-home",
            "reset.exchange",
            `Swap ${HOME_SUBVOLUME} and ${freshHome} in one atomic rename`,
            { a: HOME_SUBVOLUME, b: freshHome, stamp, marker: "" },
            { destroys: [homeLoss(btrfs)] },
          ),
          step(
            "drop-old-home",
            "reset.delete-subvolume",
            `Delete the old home (now named ${freshHome})`,
            { path: freshHome, oldOf: "swap-home" },
            { reversible: false },
          ),
          ...extra.map((path, i) =>
            step(
              `drop-extra-${i + 1}`,
              "reset.delete-subvolume",
              `Delete ${path}`,
              { path },
              { destroys: extraSubvolumeLosses(btrfs, (p) => p !== path), reversible: false },
            ),
          ),
          step(
            "drop-recovered-boot",
            "reset.delete-subvolume",
            "Remove the unpacked copy of the /boot payload",
            { path: recoveredBootDir(stamp) },
          ),
          ...otherSteps,
        ],
      });
    }),
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

function homeBytes(state: SystemState): string {
  const home = state.btrfs?.subvolumes.find((s) => s.path === HOME_SUBVOLUME);
  return home?.bytes === undefined ? "" : ` (${formatBytes(home.bytes)})`;
}
