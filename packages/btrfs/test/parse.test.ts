import { parseMountinfo } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import {
  parseFilesystemDu,
  parseFilesystemShow,
  parseFilesystemUsage,
  parseGetDefault,
  parseSubvolumeIds,
  parseSubvolumeList,
  parseSubvolumeShow,
} from "../src/index.js";

// Output captured from btrfs-progs v6.2 (Debian 12) on a loop-backed filesystem.
const LIST = `ID 256 gen 7 cgen 7 parent 5 top level 5 parent_uuid -                                    received_uuid -                                    uuid c36ece19-df93-924f-8f38-49de8b5fc8b4 path a
ID 257 gen 7 cgen 7 parent 256 top level 256 parent_uuid -                                    received_uuid -                                    uuid e6170a00-2348-354d-851f-5ff7629577e5 path <FS_TREE>/a/b
ID 258 gen 7 cgen 7 parent 5 top level 5 parent_uuid c36ece19-df93-924f-8f38-49de8b5fc8b4 received_uuid -                                    uuid e38bfbfe-5e68-be4e-b031-ddc0f6a93508 path snap
ID 259 gen 8 cgen 8 parent 256 top level 256 parent_uuid -                                    received_uuid -                                    uuid f9f02088-7eed-ba4d-9a8c-cc4bbb0f23f9 path a/x y/sp ace path z
`;

const SHOW = `snap
\tName: \t\t\tsnap
\tUUID: \t\t\te38bfbfe-5e68-be4e-b031-ddc0f6a93508
\tParent UUID: \t\tc36ece19-df93-924f-8f38-49de8b5fc8b4
\tReceived UUID: \t\t-
\tCreation time: \t\t2026-11-25 19:53:38 +0000
\tSubvolume ID: \t\t258
\tGeneration: \t\t7
\tGen at creation: \t7
\tParent ID: \t\t5
\tTop level ID: \t\t5
\tFlags: \t\t\treadonly
\tSend transid: \t\t0
\tSend time: \t\t2026-11-25 19:53:38 +0000
\tReceive transid: \t0
\tReceive time: \t\t-
\tSnapshot(s):
`;

const USAGE = `Overall:
    Device size:\t\t        1073741824
    Device allocated:\t\t         132513792
    Device unallocated:\t\t         941228032
    Device missing:\t\t                 0
    Device slack:\t\t                 0
    Used:\t\t\t            393216
    Free (estimated):\t\t         949616640\t(min: 479002624)
    Free (statfs, df):\t\t         948568064
    Data ratio:\t\t\t              1.00
    Metadata ratio:\t\t              2.00
    Global reserve:\t\t           5767168\t(used: 0)
    Multiple profiles:\t\t                no

Data,single: Size:8388608, Used:0 (0.00%)
   /dev/loop0\t   8388608
`;

const SHOW_FS = `Label: 'probe'  uuid: 330517b3-855f-4450-8076-8d892adb9777
\tTotal devices 1 FS bytes used 196608
\tdevid    1 size 1073741824 used 132513792 path /dev/loop0

`;

describe("parsers over real btrfs-progs 6.2 output", () => {
  it("parses subvolume list, with spaces in paths and the <FS_TREE> prefix", () => {
    const r = parseSubvolumeList(LIST, parseSubvolumeIds("ID 258 gen 7 top level 5 path snap\n"));
    const subs = r._unsafeUnwrap();
    expect(subs.map((s) => [s.id, s.path, s.parentId, s.readOnly])).toEqual([
      [256, "a", 5, false],
      [257, "a/b", 256, false],
      [258, "snap", 5, true],
      [259, "a/x y/sp ace path z", 256, false],
    ]);
    expect(subs[2]).toMatchObject({
      parentUuid: "c36ece19-df93-924f-8f38-49de8b5fc8b4",
      receivedUuid: undefined,
      generation: 7,
      createdGeneration: 7,
    });
  });

  it("reports unrecognised list lines instead of dropping them", () => {
    const r = parseSubvolumeList("ID 256 gen 7 path a\n");
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "PARSE_FAILED",
      source: "btrfs subvolume list",
    });
  });

  it("parses subvolume show", () => {
    expect(parseSubvolumeShow(SHOW)._unsafeUnwrap()).toEqual({
      id: 258,
      generation: 7,
      createdGeneration: 7,
      parentId: 5,
      topLevelId: 5,
      uuid: "e38bfbfe-5e68-be4e-b031-ddc0f6a93508",
      parentUuid: "c36ece19-df93-924f-8f38-49de8b5fc8b4",
      receivedUuid: undefined,
      path: "snap",
      readOnly: true,
    });
    expect(parseSubvolumeShow("garbage\n")._unsafeUnwrapErr().code).toBe("PARSE_FAILED");
  });

  it("parses get-default both ways", () => {
    expect(parseGetDefault("ID 5 (FS_TREE)\n")._unsafeUnwrap()).toEqual({ id: 5, path: undefined });
    expect(parseGetDefault("ID 256 gen 7 top level 5 path a\n")._unsafeUnwrap()).toEqual({
      id: 256,
      path: "a",
    });
  });

  it("parses filesystem usage -b", () => {
    expect(parseFilesystemUsage(USAGE)._unsafeUnwrap()).toEqual({
      deviceSize: 1073741824,
      deviceAllocated: 132513792,
      deviceUnallocated: 941228032,
      deviceMissing: 0,
      used: 393216,
      freeEstimated: 949616640,
      freeEstimatedMin: 479002624,
      freeStatfs: 948568064,
      dataRatio: 1,
      metadataRatio: 2,
      globalReserve: 5767168,
    });
  });

  it("parses filesystem show --raw", () => {
    expect(parseFilesystemShow(SHOW_FS)._unsafeUnwrap()).toEqual({
      label: "probe",
      uuid: "330517b3-855f-4450-8076-8d892adb9777",
      totalDevices: 1,
      bytesUsed: 196608,
      devices: [{ devid: 1, size: 1073741824, used: 132513792, path: "/dev/loop0" }],
      missingDevices: false,
    });
  });

  it("parses filesystem du -s --raw", () => {
    const out = "     Total   Exclusive  Set shared  Filename\n  4096  1024  3072  /mnt/a b\n";
    expect(parseFilesystemDu(out)._unsafeUnwrap()).toEqual({
      total: 4096,
      exclusive: 1024,
      shared: 3072,
    });
  });

  it("reads mount points with escaped spaces from mountinfo", () => {
    const [e] = parseMountinfo(
      "36 35 7:1 / /tmp/a\\040b rw,relatime shared:1 - btrfs /dev/loop1 rw,subvolid=5,subvol=/\n",
    );
    expect(e).toEqual({
      root: "/",
      mountPoint: "/tmp/a b",
      fstype: "btrfs",
      source: "/dev/loop1",
      superOptions: "rw,subvolid=5,subvol=/",
    });
  });
});
