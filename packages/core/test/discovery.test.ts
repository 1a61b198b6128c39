import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createBtrfs, requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createExecaRunner,
  findMountOf,
  flattenBlockDevices,
  listBlockDevices,
  listMounts,
  parseBlkidExport,
  parseFindmnt,
  parseLsblk,
} from "../src/index.js";

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("parseLsblk (captured fixtures)", () => {
  // Hand-written in the shape of util-linux 2.40 output on a Fedora laptop: this
  // kernel scans no partition tables and has no device-mapper, so it cannot be captured here.
  it("reads a Fedora-shaped disk with a LUKS holder (util-linux 2.40 field set)", () => {
    const [disk] = parseLsblk(fixture("lsblk-2.40-fedora-luks.json"))._unsafeUnwrap();
    expect(disk).toMatchObject({
      path: "/dev/nvme0n1",
      type: "disk",
      size: 1024209543168,
      partitionTableType: "gpt",
      partitionTableUuid: "8f4c1d9e-2b6a-4e3f-9c1d-0a1b2c3d4e5f",
      model: "SAMSUNG MZVL21T0HCLR-00BL2",
      mountpoints: [],
      holders: [],
    });
    const [esp, boot, luks, recovery] = disk!.children;
    expect(esp).toMatchObject({
      partitionTypeGuid: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
      partUuid: "5d2e1a3b-0000-4000-8000-000000000001",
      partLabel: "EFI System Partition",
      partNumber: 1,
      fsType: "vfat",
      fsUuid: "1A2B-3C4D",
      mountpoints: ["/boot/efi"],
      parentKname: "nvme0n1",
    });
    expect(boot).toMatchObject({ partNumber: 2, fsType: "ext4", mountpoints: ["/boot"] });
    expect(luks).toMatchObject({ fsType: "crypto_LUKS", fsVersion: "2", mountpoints: [] });
    expect(luks!.holders).toEqual(["/dev/mapper/luks-c1d2e3f4-a5b6-4c7d-8e9f-001122334455"]);
    expect(luks!.children[0]).toMatchObject({
      type: "crypt",
      kname: "dm-0",
      fsType: "btrfs",
      label: "fedora",
      mountpoints: ["/home", "/"],
    });
    // Numbers and booleans as strings (older util-linux), partn missing (before 2.39).
    expect(recovery).toMatchObject({
      size: 6000000000,
      readOnly: false,
      logicalSectorSize: 512,
      startSector: 1988685824,
      partNumber: 4,
      partitionTypeGuid: "d999c366-3126-4451-b3c1-be31e091158c",
    });
    expect(flattenBlockDevices([disk!]).map((d) => d.kname)).toEqual([
      "nvme0n1",
      "nvme0n1p1",
      "nvme0n1p2",
      "nvme0n1p3",
      "dm-0",
      "nvme0n1p4",
    ]);
  });

  it("reads real util-linux 2.38 output of a loop device with two btrfs mounts", () => {
    const [loop] = parseLsblk(fixture("lsblk-2.38-loop-btrfs.json"))._unsafeUnwrap();
    expect(loop).toMatchObject({
      path: "/dev/loop0",
      type: "loop",
      size: 268435456,
      fsSize: 268435456,
      partNumber: undefined,
      logicalSectorSize: 512,
      children: [],
    });
    expect(loop!.mountpoints).toHaveLength(2);
  });

  it("refuses what is not lsblk JSON with PARSE_FAILED", () => {
    const notJson = parseLsblk("lsblk: bad usage")._unsafeUnwrapErr();
    expect(Object.keys(notJson).sort()).toEqual(["cause", "code", "issues", "message", "source"]);
    expect(notJson).toMatchObject({ code: "PARSE_FAILED", source: "lsblk -J" });
    const badShape = parseLsblk({ blockdevices: [{ name: 3, size: "big" }] })._unsafeUnwrapErr();
    expect(badShape.code).toBe("PARSE_FAILED");
    expect(badShape.issues.join("\n")).toMatch(/blockdevices\.0\.name/);
  });
});

describe("parseFindmnt and parseBlkidExport", () => {
  it("reads mounts and btrfs subvolumes from real findmnt output", () => {
    const mounts = parseFindmnt(fixture("findmnt-2.38.json"))._unsafeUnwrap();
    expect(mounts.length).toBeGreaterThan(5);
    expect(mounts.find((m) => m.target === "/proc")).toMatchObject({
      fstype: "proc",
      subvol: undefined,
    });
    const sub = mounts.find((m) => m.source.endsWith("[/root]"))!;
    expect(sub).toMatchObject({
      device: "/dev/loop0",
      fstype: "btrfs",
      fsroot: "/root",
      subvol: "/root",
      subvolId: 256,
    });
    expect(mounts.find((m) => m.device === "/dev/loop0" && m.fsroot === "/")).toMatchObject({
      subvol: "/",
      subvolId: 5,
    });
  });

  it("flattens findmnt's tree form (without -l)", () => {
    const tree = {
      filesystems: [
        {
          target: "/",
          source: "/dev/mapper/luks-1[/root]",
          fstype: "btrfs",
          options: "rw,relatime,compress=zstd:1,subvolid=256,subvol=/root",
          children: [
            {
              target: "/home",
              source: "/dev/mapper/luks-1[/home]",
              fstype: "btrfs",
              options: "rw,subvolid=257,subvol=/home",
            },
          ],
        },
      ],
    };
    expect(
      parseFindmnt(tree)
        ._unsafeUnwrap()
        .map((m) => [m.target, m.device, m.subvol, m.subvolId]),
    ).toEqual([
      ["/", "/dev/mapper/luks-1", "/root", 256],
      ["/home", "/dev/mapper/luks-1", "/home", 257],
    ]);
  });

  it("reads blkid's export format", () => {
    expect(parseBlkidExport('TYPE="btrfs"\nLABEL=my\\ disk\nUUID=ab-cd\n')).toEqual({
      TYPE: "btrfs",
      LABEL: "my disk",
      UUID: "ab-cd",
    });
  });
});

describe("discovery on a real loop device", () => {
  const runner = createExecaRunner();
  let scratch: Scratch;
  let fs: Awaited<ReturnType<typeof createBtrfs>>;
  let subMount: string;

  beforeAll(async () => {
    requireRoot();
    requireTools("lsblk", "findmnt", "blkid", "btrfs");
    scratch = await Scratch.create("lifeboat-core-disc-");
    fs = await createBtrfs(scratch, { bytes: 256 * 1024 ** 2, label: "lbdisc" });
    await sh("btrfs", ["-q", "subvolume", "create", `${fs.mountpoint}/root`]);
    subMount = scratch.path("sub");
    await sh("mkdir", [subMount]);
    await sh("mount", ["-o", "subvol=root", fs.device, subMount]);
    scratch.defer(() => sh("umount", [subMount]));
    await writeFile(`${subMount}/hello`, "hi");
  });
  afterAll(async () => {
    await scratch?.cleanup();
  });

  it("listBlockDevices sees the loop device, its size, filesystem and both mounts", async () => {
    const uuid = (await sh("blkid", ["-p", "-s", "UUID", "-o", "value", fs.device])).trim();
    const [dev] = (await listBlockDevices(runner, { device: fs.device }))._unsafeUnwrap();
    expect(dev).toMatchObject({
      path: fs.device,
      type: "loop",
      size: 256 * 1024 ** 2,
      fsType: "btrfs",
      fsUuid: uuid,
      label: "lbdisc",
    });
    expect([...dev!.mountpoints].sort()).toEqual([fs.mountpoint, subMount].sort());
    const all = flattenBlockDevices((await listBlockDevices(runner))._unsafeUnwrap());
    expect(all.some((d) => d.path === fs.device)).toBe(true);
  });

  it("listMounts and findMountOf see the subvolume mount", async () => {
    const mounts = (await listMounts(runner))._unsafeUnwrap();
    expect(mounts.find((m) => m.target === subMount)).toMatchObject({
      device: fs.device,
      fstype: "btrfs",
      subvol: "/root",
      fsroot: "/root",
      label: "lbdisc",
      size: expect.any(Number),
    });
    const of = (await findMountOf(runner, `${subMount}/hello`))._unsafeUnwrap();
    expect(of).toMatchObject({ target: subMount, subvol: "/root" });
    const top = (await findMountOf(runner, fs.mountpoint))._unsafeUnwrap();
    expect(top).toMatchObject({ target: fs.mountpoint, subvol: "/", subvolId: 5 });
  });

  it("passes a missing device through as COMMAND_FAILED", async () => {
    const e = (
      await listBlockDevices(runner, { device: "/dev/nonexistent-lb" })
    )._unsafeUnwrapErr();
    expect(e.code).toBe("COMMAND_FAILED");
  });
});
