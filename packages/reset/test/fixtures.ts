import type { SystemState } from "../src/index.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** A Fedora laptop, provisioned, with a verified recovery image and Windows beside it. */
export function laptop(overrides: Partial<SystemState> = {}): SystemState {
  return {
    disks: [
      {
        device: "/dev/nvme0n1",
        sizeBytes: 512 * GiB,
        partitions: [
          part(1, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp", 600 * MiB, "vfat"),
          part(2, "e3c9e316-0b5c-4db8-817d-f92df00215ae", "windows-msr", 16 * MiB, undefined),
          part(3, "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "windows-data", 200 * GiB, "ntfs"),
          part(4, "de94bba4-06d1-4d40-a16a-bfd50179d6ac", "windows-recovery", 700 * MiB, "ntfs"),
          part(5, "0fc63daf-8483-4772-8e79-3d69d8477de4", "boot", GiB, "ext4"),
          part(6, "0fc63daf-8483-4772-8e79-3d69d8477de4", "btrfs", 300 * GiB, "btrfs"),
          part(7, "d999c366-3126-4451-b3c1-be31e091158c", "recovery", 8 * GiB, "squashfs"),
        ],
      },
    ],
    btrfs: {
      device: "/dev/nvme0n1p6",
      fsUuid: "2b0f6a7e-0000-4000-8000-000000000001",
      sizeBytes: 300 * GiB,
      freeBytes: 120 * GiB,
      defaultSubvolumeId: 5,
      encryptedOn: undefined,
      subvolumes: [
        sv(256, "root", "aaaa", undefined, false, 14 * GiB),
        sv(257, "home", "bbbb", undefined, false, 37 * GiB),
        sv(258, ".lifeboat/factory/root", "cccc", "aaaa", true, 9 * GiB),
        sv(259, ".lifeboat/factory/boot", "dddd", undefined, true, 120 * MiB),
        sv(260, "home/.snapshots", "eeee", "bbbb", false, 2 * GiB),
        sv(261, "snapshots/pre-update", "ffff", "aaaa", true, 13 * GiB),
      ],
    },
    boot: { device: "/dev/nvme0n1p5", fsUuid: "b00b0000-0000-4000-8000-000000000005" },
    rootMount: { by: "name", subvolume: "root" },
    factory: {
      snapshotPath: ".lifeboat/factory/root",
      snapshotUuid: "cccc",
      bytes: 9 * GiB,
      intact: true,
      product: "Contoso Laptop 14",
      build: "F40-2026.11",
      kernelVersions: ["6.8.5-301.fc40.x86_64"],
      bootFiles: [
        { path: "vmlinuz-6.8.5-301.fc40.x86_64", bytes: 14 * MiB, sha256: "a".repeat(64) },
        { path: "initramfs-6.8.5-301.fc40.x86_64.img", bytes: 40 * MiB, sha256: "b".repeat(64) },
      ],
    },
    recovery: {
      device: "/dev/nvme0n1p7",
      imageDir: "/run/lifeboat/recovery",
      digest: `sha256:${"5e7".padEnd(64, "0")}`,
      product: "Contoso Laptop 14",
      build: "F40-2026.11",
      rootBytes: 9 * GiB,
      verified: true,
      problem: undefined,
      bootFiles: [
        { path: "vmlinuz-6.8.5-301.fc40.x86_64", bytes: 14 * MiB, sha256: "a".repeat(64) },
      ],
    },
    otherOses: [
      {
        kind: "windows",
        name: "Windows",
        devices: ["/dev/nvme0n1p3", "/dev/nvme0n1p2", "/dev/nvme0n1p4"],
        bytes: 200 * GiB + 716 * MiB,
      },
    ],
    busy: [],
    live: false,
    ...overrides,
  };
}

function part(
  number: number,
  typeGuid: string,
  role: SystemState["disks"][number]["partitions"][number]["role"],
  sizeBytes: number,
  fsType: string | undefined,
): SystemState["disks"][number]["partitions"][number] {
  return {
    device: `/dev/nvme0n1p${number}`,
    number,
    typeGuid,
    partUuid: `9a7d0000-0000-4000-8000-${String(number).padStart(12, "0")}`,
    name: undefined,
    sizeBytes,
    role,
    fsType,
    fsUuid: undefined,
    label: undefined,
    luks: undefined,
    mountpoints: [],
  };
}

function sv(
  id: number,
  path: string,
  uuid: string,
  parentUuid: string | undefined,
  readOnly: boolean,
  bytes: number,
) {
  return { id, path, uuid, parentUuid, readOnly, bytes };
}

/**
 * What an earlier reset at `stamp` kept: the old root's /boot payload
 * subvolume (beside `root.old-<stamp>`, which the caller adds) and the
 * state's `keptRoots` entry naming both.
 */
export function keptByReset(stamp: string) {
  const bootFiles = [
    { path: "vmlinuz-6.9.0-100.fc40.x86_64", bytes: 14 * 1024 ** 2, sha256: "c".repeat(64) },
    {
      path: "loader/entries/abc-6.9.0-100.fc40.x86_64.conf",
      bytes: 400,
      sha256: "d".repeat(64),
    },
  ];
  return {
    bootSubvolume: {
      id: 301,
      path: `.lifeboat/boot.old-${stamp}`,
      uuid: "9998",
      parentUuid: undefined,
      readOnly: false,
      bytes: 14 * 1024 ** 2,
    },
    keptRoot: {
      stamp,
      rootPath: `root.old-${stamp}`,
      bytes: 12 * 1024 ** 3,
      bootPath: `.lifeboat/boot.old-${stamp}`,
      bootFiles,
    },
  };
}
