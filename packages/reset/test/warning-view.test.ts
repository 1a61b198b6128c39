import { computePlanDigest } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import { plan, planWarningViews, type SystemState } from "../src/index.js";
import { laptop } from "./fixtures.js";

const stamp = "20261205T110000Z";

/** The laptop fixture with its system partition (6) a LUKS2 volume, open, and a damaged factory snapshot. */
function encryptedDamaged(): SystemState {
  const base = laptop();
  const disk = base.disks[0]!;
  return {
    ...base,
    factory: base.factory ? { ...base.factory, intact: false } : undefined,
    recovery: base.recovery ? { ...base.recovery, securityEpoch: 1, epochFloor: 2 } : undefined,
    disks: [
      {
        ...disk,
        partitions: disk.partitions.map((p) =>
          p.number === 6
            ? { ...p, luks: { version: 2 as const, uuid: "1234", openAs: "/dev/mapper/luks-1234" } }
            : p,
        ),
      },
    ],
  } as SystemState;
}

describe("planWarningViews: every reset warning as a code and parameters", () => {
  it("full restore: home erased, rollback allowed, Windows erased, the encrypted volume", () => {
    const p = plan(encryptedDamaged(), {
      kind: "full-restore",
      stamp,
      allowRollback: { reason: "ticket 4711" },
    })._unsafeUnwrap();
    const views = planWarningViews(p);
    expect(views.map((v) => v.code)).toEqual([
      "home-erased",
      "rollback-allowed",
      "other-os-erased",
      "encrypted-volume",
    ]);
    // The views' text is the plan's English, warning by warning.
    expect(views.map((v) => v.text)).toEqual(p.warnings);
    const os = views[2]!;
    expect(os.code === "other-os-erased" && os.params).toEqual({
      name: "Windows",
      bytes: expect.any(Number),
      partitions: [3, 2, 4],
    });
    const luks = views[3]!;
    expect(luks.code === "encrypted-volume" && luks.params).toMatchObject({
      partition: { number: 6 },
      luksVersion: 2,
      open: true,
    });
  });

  it("reset from the recovery image: the damaged factory snapshot, Windows kept", () => {
    const p = plan(encryptedDamaged(), {
      kind: "reset-from-recovery",
      stamp,
      allowRollback: { reason: "ticket 4711" },
    })._unsafeUnwrap();
    expect(planWarningViews(p).map((v) => v.code)).toEqual([
      "rollback-allowed",
      "factory-damaged",
      "other-os-kept",
      "encrypted-volume",
    ]);
    expect(p.warningCodes?.[0]).toEqual({
      code: "rollback-allowed",
      params: { securityEpoch: 1, floorEpoch: 2, reason: "ticket 4711" },
    });
  });

  it("a warning without a code, with an unknown code or with words its parameters do not give is shown as it is", () => {
    const p = plan(laptop(), { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    const kept = p.warnings[0]!;
    const edited = (draft: Omit<typeof p, "digest">) => ({
      ...draft,
      digest: computePlanDigest(draft)._unsafeUnwrap(),
    });
    const { warningCodes: _codes, ...withoutCodes } = p;
    expect(planWarningViews(edited(withoutCodes))).toEqual([{ code: undefined, text: kept }]);
    expect(
      planWarningViews(edited({ ...p, warningCodes: [{ code: "disk-on-fire", params: {} }] })),
    ).toEqual([{ code: undefined, unknownCode: "disk-on-fire", text: kept }]);
    expect(planWarningViews(edited({ ...p, warnings: ["Linux is on this disk."] }))).toEqual([
      { code: undefined, unknownCode: "other-os-kept", text: "Linux is on this disk." },
    ]);
  });
});
