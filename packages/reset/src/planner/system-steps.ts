import type { PlanStep } from "@lifeboat/core";
import {
  bootStagingDir,
  newRootName,
  oldRootName,
  RESET_MARKER,
  ROOT_SUBVOLUME,
} from "../layout.js";
import type { BootFile, BtrfsState } from "../state.js";
import { rootLoss, step } from "./common.js";
import { count } from "./words.js";

/** The words for a root and /boot that come from the factory. */
export const FACTORY_ORIGIN = {
  payload: "the factory /boot payload",
  kernels: "the factory kernel, initramfs and boot entries",
  from: "the factory",
} as const;

/** Steps shared by every plan that puts a new root in place: prepare, stage /boot, swap, retire. */
export function swapRootSteps(
  btrfs: BtrfsState,
  stamp: string,
  kind: string,
  boot: { readonly sourceDir: string; readonly files: readonly BootFile[] },
  options: {
    readonly keepOld: boolean;
    /** Run first-boot setup again (empty /etc/machine-id); default true. False for a checkpoint. */
    readonly firstBoot?: boolean;
    /** Where the root and /boot come from, in words (default: the factory). */
    readonly origin?: { readonly payload: string; readonly kernels: string; readonly from: string };
  },
): PlanStep[] {
  const origin = options.origin ?? FACTORY_ORIGIN;
  const firstBoot = options.firstBoot ?? true;
  const fresh = newRootName(stamp);
  const old = oldRootName(stamp);
  const files = boot.files.map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }));
  const steps: PlanStep[] = [
    step(
      "prepare-root",
      "reset.prepare-root",
      firstBoot
        ? `Prepare ${fresh} for first boot (empty /etc/machine-id, reset marker)`
        : `Prepare ${fresh} (reset marker; /etc/machine-id kept)`,
      firstBoot
        ? { subvolume: fresh, stamp, kind, marker: RESET_MARKER }
        : { subvolume: fresh, stamp, kind, marker: RESET_MARKER, firstBoot: false },
      { preconditions: [`subvolume ${fresh} exists`] },
    ),
    step(
      "stage-boot",
      "reset.stage-boot",
      `Stage ${origin.payload} (${count(files.length, "file")}) beside the current one`,
      { sourceDir: boot.sourceDir, staging: bootStagingDir(stamp), files },
      { preconditions: ["/boot is mounted and has room for the payload"] },
    ),
    step(
      "swap-root",
      "reset.exchange",
      `Swap ${ROOT_SUBVOLUME} and ${fresh} in one atomic rename`,
      { a: ROOT_SUBVOLUME, b: fresh, stamp, marker: RESET_MARKER },
      {
        destroys: [rootLoss(btrfs, options.keepOld ? old : undefined)],
        preconditions: [`${fresh} carries this reset's marker`],
      },
    ),
    step(
      "retire-old-root",
      options.keepOld ? "reset.rename" : "reset.delete-subvolume",
      options.keepOld ? `Keep the old root as ${old}` : `Delete the old root (now named ${fresh})`,
      options.keepOld
        ? { from: fresh, to: old, oldOf: "swap-root" }
        : { path: fresh, oldOf: "swap-root" },
      { reversible: options.keepOld },
    ),
    step(
      "install-boot",
      "reset.install-boot",
      `Bring /boot back to ${origin.kernels}`,
      { staging: bootStagingDir(stamp), files },
      {
        destroys: [
          {
            kind: "boot-entry",
            what: `kernels and boot entries in /boot that did not come from ${origin.from}`,
            detail: "their modules are no longer in the new root",
          },
        ],
        reversible: false,
      },
    ),
  ];
  return steps;
}
