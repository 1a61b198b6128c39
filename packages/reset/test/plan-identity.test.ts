import { describe, expect, it } from "vitest";
import { plan, RESET_REQUEST_KINDS, type ResetRequest, type SystemState } from "../src/index.js";
import { keptByReset, laptop } from "./fixtures.js";

const kept = keptByReset("20260101T000000Z");

const stamp = "20261125T200000Z";
const usb = { directory: "/run/media/usb", freeBytes: 64 * 1024 ** 3 };

const REQUESTS: Record<(typeof RESET_REQUEST_KINDS)[number], ResetRequest> = {
  "reset-keep-home": { kind: "reset-keep-home", stamp },
  "reset-from-recovery": { kind: "reset-from-recovery", stamp },
  "full-restore": { kind: "full-restore", stamp },
  "reset-user-data": { kind: "reset-user-data", stamp, rescueTo: usb },
  rescue: { kind: "rescue", stamp, target: usb },
  cleanup: { kind: "cleanup" },
  rollback: { kind: "rollback", checkpoint: "factory", stamp },
  "undo-reset": { kind: "undo-reset", stamp },
};

/** The laptop as one process sees it, with an old root kept (so cleanup has work). */
function seenBy(view: {
  disk: string;
  partition: (n: number) => string;
  imageDir: string;
  mountpoint: (n: number) => string[];
}): SystemState {
  const base = laptop();
  const rename = (device: string) => {
    const n = /p(\d+)$/.exec(device)?.[1];
    return n === undefined ? view.disk : view.partition(Number(n));
  };
  return laptop({
    disks: base.disks.map((d) => ({
      ...d,
      device: view.disk,
      partitions: d.partitions.map((p) => ({
        ...p,
        device: view.partition(p.number),
        mountpoints: view.mountpoint(p.number),
      })),
    })),
    btrfs: {
      ...base.btrfs!,
      device: rename(base.btrfs!.device),
      subvolumes: [
        ...base.btrfs!.subvolumes,
        {
          id: 300,
          path: "root.old-20260101T000000Z",
          uuid: "9999",
          parentUuid: undefined,
          readOnly: false,
          bytes: 12 * 1024 ** 3,
        },
        kept.bootSubvolume,
      ],
    },
    keptRoots: [kept.keptRoot],
    boot: { ...base.boot!, device: rename(base.boot!.device) },
    recovery: { ...base.recovery!, device: rename(base.recovery!.device), imageDir: view.imageDir },
    otherOses: base.otherOses.map((os) => ({ ...os, devices: os.devices.map(rename) })),
  });
}

describe("plan identity: what names things in a plan does not depend on where they are mounted", () => {
  const installed = seenBy({
    disk: "/dev/nvme0n1",
    partition: (n) => `/dev/nvme0n1p${n}`,
    imageDir: "/run/lifeboat/recovery/sets/current",
    mountpoint: (n) => (n === 6 ? ["/", "/home"] : n === 5 ? ["/boot"] : []),
  });
  const recoveryCli = seenBy({
    disk: "/dev/loop7",
    partition: (n) => `/dev/loop7p${n}`,
    imageDir: "/tmp/lifeboat-cli-Xy12Ab/sets/current",
    mountpoint: (n) => (n === 6 ? ["/tmp/lifeboat-cli-Xy12Ab/top"] : []),
  });

  it.each(RESET_REQUEST_KINDS)("%s: the same digest from two processes", (kind) => {
    const a = plan(installed, REQUESTS[kind])._unsafeUnwrap();
    const b = plan(recoveryCli, REQUESTS[kind])._unsafeUnwrap();
    expect(b.digest).toBe(a.digest);
    expect(JSON.stringify(a)).not.toMatch(/\/dev\/|lifeboat-cli|\/run\/lifeboat/);
  });

  it("a different recovery image set gives a different digest", () => {
    const other: SystemState = {
      ...installed,
      recovery: { ...installed.recovery!, digest: `sha256:${"1".repeat(64)}` },
    };
    const a = plan(installed, REQUESTS["reset-from-recovery"])._unsafeUnwrap();
    const b = plan(other, REQUESTS["reset-from-recovery"])._unsafeUnwrap();
    expect(b.digest).not.toBe(a.digest);
  });
});
