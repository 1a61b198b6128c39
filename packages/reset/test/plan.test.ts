import { computePlanDigest, planDataLoss } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import { plan, type ResetRequest, renderPlan, type SystemState } from "../src/index.js";
import { laptop } from "./fixtures.js";

const stamp = "20261125T200000Z";
const rescueTo = { directory: "/run/media/usb", freeBytes: 64 * 1024 ** 3 };

function rendered(state: SystemState, request: ResetRequest): string {
  const r = plan(state, request);
  if (r.isErr()) throw new Error(`${r.error.code}: ${r.error.message}`);
  expect(computePlanDigest(r.value)._unsafeUnwrap()).toBe(r.value.digest);
  return renderPlan(r.value);
}

describe("plan: rendered plans", () => {
  it("reset keeping /home", () => {
    expect(rendered(laptop(), { kind: "reset-keep-home", stamp })).toMatchInlineSnapshot(`
      "Reset the system to factory state (Contoso Laptop 14 F40-2026.11), keeping /home
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Windows (partitions 3, 2, 4) is on this disk; this reset does not touch it.

      This destroys:
        - subvolume root (the installed system: programs, settings in /etc, data in /var), 14.0 GiB (kept as root.old-20261125T200000Z until you run cleanup, so files can still be copied from it)
        - kernels and boot entries in /boot that did not come from the factory (their modules are no longer in the new root)

      Steps:
        1. Check that the filesystem and the factory snapshot are the ones planned for
        2. Make root.new-20261125T200000Z as a writable snapshot of the factory snapshot (copy-on-write, no copying)
        3. Prepare root.new-20261125T200000Z for first boot (empty /etc/machine-id, reset marker)
        4. Keep a copy of the current /boot payload as .lifeboat/boot.old-20261125T200000Z
        5. Stage the factory /boot payload (2 files) beside the current one
        6. Swap root and root.new-20261125T200000Z in one atomic rename  [destroys]
        7. Keep the old root as root.old-20261125T200000Z
        8. Bring /boot back to the factory kernel, initramfs and boot entries  [destroys]"
    `);
  });
  it("reset from the recovery partition", () => {
    expect(rendered(laptop(), { kind: "reset-from-recovery", stamp })).toMatchInlineSnapshot(`
      "Reset the system from the recovery partition (Contoso Laptop 14 F40-2026.11), keeping /home
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Windows (partitions 3, 2, 4) is on this disk; this reset does not touch it.

      This destroys:
        - subvolume root (the installed system: programs, settings in /etc, data in /var), 14.0 GiB (kept as root.old-20261125T200000Z until you run cleanup, so files can still be copied from it)
        - kernels and boot entries in /boot that did not come from the factory (their modules are no longer in the new root)

      Steps:
        1. Check that the filesystem is the one planned for
        2. Verify the recovery image set again (signature and digests) just before using it
        3. Unpack the factory system (9.0 GiB) from the recovery image into root.new-20261125T200000Z
        4. Prepare root.new-20261125T200000Z for first boot (empty /etc/machine-id, reset marker)
        5. Keep a copy of the current /boot payload as .lifeboat/boot.old-20261125T200000Z
        6. Stage the factory /boot payload (1 file) beside the current one
        7. Swap root and root.new-20261125T200000Z in one atomic rename  [destroys]
        8. Keep the old root as root.old-20261125T200000Z
        9. Bring /boot back to the factory kernel, initramfs and boot entries  [destroys]
        10. Remove the unpacked copy of the /boot payload"
    `);
  });
  it("full restore names Windows loudly", () => {
    expect(rendered(laptop(), { kind: "full-restore", stamp })).toMatchInlineSnapshot(`
      "Full factory restore (Contoso Laptop 14 F40-2026.11): ALL user data will be erased
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Every user's files in /home will be erased (37.0 GiB). Copy what you need first (rescue).
        ! Windows WILL BE ERASED (201 GiB on partitions 3, 2, 4).

      This destroys:
        - subvolume root (the installed system: programs, settings in /etc, data in /var), 14.0 GiB (deleted for good)
        - kernels and boot entries in /boot that did not come from the factory (their modules are no longer in the new root)
        - subvolume home (every user's files), 37.0 GiB (deleted for good, with 1 subvolume inside it (home/.snapshots))
        - snapshot snapshots/pre-update, 13.0 GiB (deleted for good)
        !! Windows (partitions 3, 2, 4), 201 GiB (removed from the partition table: partition 3 (PARTUUID 9a7d0000-0000-4000-8000-000000000003), partition 2 (PARTUUID 9a7d0000-0000-4000-8000-000000000002), partition 4 (PARTUUID 9a7d0000-0000-4000-8000-000000000004))

      Steps:
        1. Check that the filesystem is the one planned for
        2. Verify the recovery image set again (signature and digests) just before using it
        3. Unpack the factory system (9.0 GiB) from the recovery image into root.new-20261125T200000Z
        4. Create an empty home.new-20261125T200000Z
        5. Prepare root.new-20261125T200000Z for first boot (empty /etc/machine-id, reset marker)
        6. Stage the factory /boot payload (1 file) beside the current one
        7. Swap root and root.new-20261125T200000Z in one atomic rename  [destroys]
        8. Delete the old root (now named root.new-20261125T200000Z)
        9. Bring /boot back to the factory kernel, initramfs and boot entries  [destroys]
        10. Swap home and home.new-20261125T200000Z in one atomic rename  [destroys]
        11. Delete the old home (now named home.new-20261125T200000Z)
        12. Delete snapshots/pre-update  [destroys]
        13. Remove the unpacked copy of the /boot payload
        14. Remove Windows (partitions 3, 2, 4) from the partition table  [destroys]"
    `);
  });
  it("reset user data after a rescue copy", () => {
    expect(rendered(laptop(), { kind: "reset-user-data", stamp, rescueTo })).toMatchInlineSnapshot(`
      "Copy your files to /run/media/usb, then erase them from this machine
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Windows (partitions 3, 2, 4) is on this disk; this reset does not touch it.

      This destroys:
        - subvolume home (every user's files), 37.0 GiB (deleted for good, with 1 subvolume inside it (home/.snapshots))

      Steps:
        1. Check that the filesystem is the one planned for
        2. Freeze home in a read-only snapshot (.lifeboat/rescue-20261125T200000Z) so the copy is consistent
        3. Copy all of home (up to 37.0 GiB) to /run/media/usb/lifeboat-rescue-20261125T200000Z
        4. Read the copy back and compare it with home, file by file
        5. Remove the read-only snapshot of home
        6. Create an empty home.new-20261125T200000Z
        7. Swap home and home.new-20261125T200000Z in one atomic rename  [destroys]
        8. Delete the old home (now named home.new-20261125T200000Z)"
    `);
  });
  it("rescue of chosen paths", () => {
    expect(
      rendered(laptop(), { kind: "rescue", stamp, target: rescueTo, paths: ["alice/Documents"] }),
    ).toMatchInlineSnapshot(`
      "Copy your files to /run/media/usb
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Windows (partitions 3, 2, 4) is on this disk; this reset does not touch it.

      This destroys nothing.

      Steps:
        1. Freeze home in a read-only snapshot (.lifeboat/rescue-20261125T200000Z) so the copy is consistent
        2. Copy alice/Documents (up to 37.0 GiB) to /run/media/usb/lifeboat-rescue-20261125T200000Z
        3. Read the copy back and compare it with home, file by file
        4. Remove the read-only snapshot of home"
    `);
  });
  it("cleanup of old roots", () => {
    const base = laptop();
    const btrfs = base.btrfs!;
    const state = laptop({
      btrfs: {
        ...btrfs,
        subvolumes: [
          ...btrfs.subvolumes,
          {
            id: 300,
            path: "root.old-20260101T000000Z",
            uuid: "x",
            parentUuid: undefined,
            readOnly: false,
            bytes: 15 * 1024 ** 3,
          },
        ],
      },
    });
    expect(rendered(state, { kind: "cleanup" })).toMatchInlineSnapshot(`
      "Delete the old root kept by earlier resets
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      This destroys:
        - subvolume root.old-20260101T000000Z (the system as it was before a reset), 15.0 GiB (deleted for good)

      Steps:
        1. Delete root.old-20260101T000000Z  [destroys]"
    `);
  });
});

describe("plan: other operating systems", () => {
  const kinds: ResetRequest[] = [
    { kind: "reset-keep-home", stamp },
    { kind: "reset-from-recovery", stamp },
    { kind: "reset-user-data", stamp },
    { kind: "rescue", stamp, target: rescueTo },
  ];
  it.each(kinds)("$kind does not touch Windows", (request) => {
    const p = plan(laptop(), request)._unsafeUnwrap();
    expect(JSON.stringify(p.steps)).not.toMatch(/nvme0n1p[234]/);
    expect(planDataLoss(p).some((l) => l.kind === "operating-system")).toBe(false);
  });
  it("full restore destroys Windows and says so loudly", () => {
    const p = plan(laptop(), { kind: "full-restore", stamp })._unsafeUnwrap();
    const os = planDataLoss(p).filter((l) => l.kind === "operating-system");
    expect(os).toEqual([
      expect.objectContaining({ what: "Windows (partitions 3, 2, 4)", loud: true }),
    ]);
    const removal = p.steps.find((s) => s.kind === "reset.remove-partitions");
    // Partitions by number and unique GUID; no device node anywhere in the plan.
    expect(JSON.stringify(removal?.params)).toContain("9a7d0000-0000-4000-8000-000000000003");
    expect(JSON.stringify(p)).not.toMatch(/\/dev\//);
    expect(p.warnings.join("\n")).toMatch(
      /Windows WILL BE ERASED \(201 GiB on partitions 3, 2, 4\)/,
    );
  });
});

describe("plan: refusals carry typed reasons", () => {
  it("no factory snapshot", () => {
    const base = laptop();
    const state = laptop({
      factory: undefined,
      btrfs: {
        ...base.btrfs!,
        subvolumes: base.btrfs!.subvolumes.filter((s) => !s.path.startsWith(".lifeboat")),
      },
    });
    expect(
      plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrapErr(),
    ).toMatchInlineSnapshot(`
      {
        "code": "RESET_NO_FACTORY_SNAPSHOT",
        "expectedPath": ".lifeboat/factory/root",
        "message": "There is no factory snapshot on this machine; reset from the recovery partition instead.",
        "reason": "missing",
      }
    `);
  });
  it("damaged factory snapshot", () => {
    const state = laptop({ factory: { ...laptop().factory!, snapshotUuid: "other" } });
    expect(plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrapErr().code).toBe(
      "RESET_NO_FACTORY_SNAPSHOT",
    );
  });
  it("not enough space", () => {
    const state = laptop({ btrfs: { ...laptop().btrfs!, freeBytes: 2 * 1024 ** 3 } });
    expect(
      plan(state, { kind: "reset-from-recovery", stamp })._unsafeUnwrapErr(),
    ).toMatchInlineSnapshot(`
      {
        "availableBytes": 2147483648,
        "code": "RESET_INSUFFICIENT_SPACE",
        "message": "Not enough free space on the Btrfs filesystem: 10.2 GiB needed, 2.0 GiB free.",
        "neededBytes": 10898479514,
        "where": "the Btrfs filesystem",
      }
    `);
  });
  it("image not verified", () => {
    const state = laptop({
      recovery: {
        ...laptop().recovery!,
        verified: false,
        problem: "signature does not match the key",
      },
    });
    expect(plan(state, { kind: "full-restore", stamp })._unsafeUnwrapErr()).toMatchInlineSnapshot(`
      {
        "code": "RESET_IMAGE_NOT_VERIFIED",
        "message": "The recovery image set was not verified: signature does not match the key.",
        "reason": "signature does not match the key",
      }
    `);
  });
  it("target busy", () => {
    const state = laptop({ busy: ["/home/alice"] });
    expect(
      plan(state, { kind: "reset-user-data", stamp })._unsafeUnwrapErr(),
    ).toMatchInlineSnapshot(`
      {
        "code": "RESET_TARGET_BUSY",
        "message": "In use: /home/alice. Close the programs using them, or run the reset from the recovery environment.",
        "paths": [
          "/home/alice",
        ],
      }
    `);
  });
  it("rescue target too small", () => {
    expect(
      plan(laptop(), {
        kind: "rescue",
        stamp,
        target: { directory: "/mnt/usb", freeBytes: 1024 ** 3 },
      })._unsafeUnwrapErr().code,
    ).toBe("RESET_INSUFFICIENT_SPACE");
  });
  it("locked LUKS", () => {
    const base = laptop();
    const disk = base.disks[0]!;
    const state = laptop({
      btrfs: undefined,
      disks: [
        {
          ...disk,
          partitions: disk.partitions.map((p) =>
            p.number === 6
              ? {
                  ...p,
                  role: "luks" as const,
                  fsType: "crypto_LUKS",
                  luks: { version: 2 as const, uuid: "1234", openAs: undefined },
                }
              : p,
          ),
        },
      ],
    });
    expect(
      plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrapErr(),
    ).toMatchInlineSnapshot(`
      {
        "code": "RESET_ENCRYPTED_LOCKED",
        "device": "/dev/nvme0n1p6",
        "message": "The system is inside the encrypted volume /dev/nvme0n1p6; unlock it first.",
      }
    `);
  });
  it("a time stamp an earlier reset used is refused before anything runs", () => {
    for (const leftover of ["root.old-", "home.new-", ".lifeboat/rescue-"]) {
      const state = laptop();
      const btrfs = state.btrfs!;
      const used = {
        ...state,
        btrfs: {
          ...btrfs,
          subvolumes: [
            ...btrfs.subvolumes,
            { ...btrfs.subvolumes[0]!, path: `${leftover}${stamp}` },
          ],
        },
      };
      for (const kind of ["reset-keep-home", "reset-from-recovery", "reset-user-data"] as const) {
        expect(plan(used, { kind, stamp })._unsafeUnwrapErr()).toMatchObject({
          code: "RESET_BAD_REQUEST",
          field: "stamp",
          message: expect.stringContaining(`${leftover}${stamp} exists`),
        });
      }
      expect(plan(used, { kind: "reset-keep-home", stamp: "20261125T200001Z" }).isOk()).toBe(true);
    }
  });
  it("bad stamp and unsafe rescue path", () => {
    expect(plan(laptop(), { kind: "reset-keep-home", stamp: "now" })._unsafeUnwrapErr().code).toBe(
      "RESET_BAD_REQUEST",
    );
    expect(
      plan(laptop(), {
        kind: "rescue",
        stamp,
        target: rescueTo,
        paths: ["../etc"],
      })._unsafeUnwrapErr(),
    ).toMatchObject({ code: "RESET_BAD_REQUEST", field: "paths" });
  });
  it("the same state and request give the same digest", () => {
    const a = plan(laptop(), { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    const b = plan(laptop(), { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    expect(a.digest).toBe(b.digest);
    const c = plan(laptop(), {
      kind: "reset-keep-home",
      stamp: "20261125T200001Z",
    })._unsafeUnwrap();
    expect(c.digest).not.toBe(a.digest);
  });
});
