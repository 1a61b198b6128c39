import type { PlanStep } from "@lifeboat/core";
import {
  bootStagingDir,
  newRootName,
  oldRootName,
  RESET_MARKER,
  ROOT_SUBVOLUME,
} from "../layout.js";
import type { BootFile, BtrfsState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { subvolume } from "./common.js";

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
  },
): PlanStep[] {
  const firstBoot = options.firstBoot ?? true;
  const fresh = newRootName(stamp);
  const old = oldRootName(stamp);
  const files = boot.files.map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }));
  const rootBytes = subvolume(btrfs, ROOT_SUBVOLUME)?.bytes;
  return [
    makeStep("prepare-root", "reset.prepare-root", {
      subvolume: fresh,
      stamp,
      kind,
      marker: RESET_MARKER,
      ...(firstBoot ? {} : { firstBoot: false as const }),
    }),
    // The old root is kept: so is the /boot payload it boots with, for "undo the last reset".
    ...(options.keepOld ? [makeStep("keep-boot", "reset.keep-boot", { stamp })] : []),
    makeStep("stage-boot", "reset.stage-boot", {
      sourceDir: boot.sourceDir,
      staging: bootStagingDir(stamp),
      files,
    }),
    makeStep("swap-root", "reset.exchange", {
      a: ROOT_SUBVOLUME,
      b: fresh,
      stamp,
      marker: RESET_MARKER,
      ...(rootBytes === undefined ? {} : { bytes: rootBytes }),
      ...(options.keepOld ? { keptAs: old } : {}),
    }),
    options.keepOld
      ? makeStep("retire-old-root", "reset.rename", { from: fresh, to: old, oldOf: "swap-root" })
      : makeStep("retire-old-root", "reset.delete-subvolume", {
          role: "swapped-out",
          path: fresh,
          oldOf: "swap-root",
        }),
    makeStep("install-boot", "reset.install-boot", {
      staging: bootStagingDir(stamp),
      files,
      sourceDir: boot.sourceDir,
    }),
  ];
}
