// "Undo the last reset" (issue #17): the planner puts back the kept old root
// and its /boot payload, keeps the current root (and its /boot) for an undo
// of the undo, and refuses with typed reasons when there is nothing to undo.
import { planDataLoss } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import { plan, renderPlan, type SystemState } from "../src/index.js";
import { keptByReset, laptop } from "./fixtures.js";

const stamp = "20261205T080000Z";

function withKept(...stamps: string[]): SystemState {
  const base = laptop();
  const kept = stamps.map(keptByReset);
  return laptop({
    btrfs: {
      ...base.btrfs!,
      subvolumes: [
        ...base.btrfs!.subvolumes,
        ...kept.flatMap((k, i) => [
          {
            id: 400 + i,
            path: k.keptRoot.rootPath,
            uuid: `old-${i}`,
            parentUuid: undefined,
            readOnly: false,
            bytes: k.keptRoot.bytes,
          },
          { ...k.bootSubvolume, id: 500 + i, uuid: `boot-${i}` },
        ]),
      ],
    },
    keptRoots: kept.map((k) => k.keptRoot),
  });
}

describe("undo-reset planner", () => {
  it("swaps the newest kept root back, keeps the current one and restores the kept /boot", () => {
    const p = plan(withKept("20260101T000000Z", "20260301T000000Z"), {
      kind: "undo-reset",
      stamp,
    })._unsafeUnwrap();
    expect(p.steps.map((s) => `${s.id} ${s.kind}`)).toEqual([
      "check reset.check",
      "prepare-root reset.prepare-root",
      "keep-boot reset.keep-boot",
      "stage-boot reset.stage-boot",
      "swap-root reset.exchange",
      "retire-old-root reset.rename",
      "install-boot reset.install-boot",
      "drop-kept-boot reset.delete-subvolume",
    ]);
    expect(p.steps[4]?.params).toMatchObject({
      a: "root",
      b: "root.old-20260301T000000Z",
      keptAs: `root.old-${stamp}`,
    });
    expect(p.steps[3]?.params).toMatchObject({ sourceDir: ".lifeboat/boot.old-20260301T000000Z" });
    expect(planDataLoss(p).map((l) => l.detail)).toEqual([
      `kept as root.old-${stamp} until you run cleanup, so files can still be copied from it`,
      "their modules are no longer in the new root",
    ]);
    expect(renderPlan(p)).toMatchInlineSnapshot(`
      "Undo the reset of 20260301T000000Z: bring back the system as it was before it, keeping /home
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Windows (partitions 3, 2, 4) is on this disk; this reset does not touch it.

      This destroys:
        - subvolume root (the installed system: programs, settings in /etc, data in /var), 14.0 GiB (kept as root.old-20261205T080000Z until you run cleanup, so files can still be copied from it)
        - kernels and boot entries in /boot that did not come from the system before the reset of 20260301T000000Z (their modules are no longer in the new root)

      Steps:
        1. Check that the filesystem is the one planned for
        2. Prepare root.old-20260301T000000Z (reset marker; /etc/machine-id kept)
        3. Keep a copy of the current /boot payload as .lifeboat/boot.old-20261205T080000Z
        4. Stage the /boot payload kept by the reset of 20260301T000000Z (2 files) beside the current one
        5. Swap root and root.old-20260301T000000Z in one atomic rename  [destroys]
        6. Keep the old root as root.old-20261205T080000Z
        7. Bring /boot back to the kernels, initramfs and boot entries kept by the reset of 20260301T000000Z  [destroys]
        8. Remove the kept copy of the /boot payload (.lifeboat/boot.old-20260301T000000Z)"
    `);
  });

  it("undoes the reset it is asked for", () => {
    const p = plan(withKept("20260101T000000Z", "20260301T000000Z"), {
      kind: "undo-reset",
      stamp,
      reset: "20260101T000000Z",
    })._unsafeUnwrap();
    expect(p.steps[4]?.params).toMatchObject({ b: "root.old-20260101T000000Z" });
  });

  it("refuses when no old root is kept, or its /boot payload was not kept", () => {
    expect(plan(laptop(), { kind: "undo-reset", stamp })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_UNSUPPORTED_LAYOUT",
      missing: "root.old-*",
    });
    expect(
      plan(withKept("20260101T000000Z"), {
        kind: "undo-reset",
        stamp,
        reset: "20250101T000000Z",
      })._unsafeUnwrapErr().code,
    ).toBe("RESET_UNSUPPORTED_LAYOUT");
    const noBoot = withKept("20260101T000000Z");
    const e = plan(
      {
        ...noBoot,
        keptRoots: noBoot.keptRoots!.map((k) => ({ ...k, bootPath: undefined, bootFiles: [] })),
      },
      { kind: "undo-reset", stamp },
    )._unsafeUnwrapErr();
    expect(e).toMatchObject({
      code: "RESET_UNSUPPORTED_LAYOUT",
      missing: "kept /boot payload of root.old-20260101T000000Z",
    });
  });

  it("a reset keeping /home keeps the /boot payload beside the old root", () => {
    const p = plan(laptop(), { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    expect(p.steps.find((s) => s.kind === "reset.keep-boot")?.params).toEqual({ stamp });
  });
});
