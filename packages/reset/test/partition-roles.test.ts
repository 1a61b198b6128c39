// A partition's role from its type GUID (read from @lifeboat/gpt's table, the
// one place the GUIDs are written) and the file system on it.
import { expect, test } from "vitest";
import { roleOf } from "../src/_internal/probe-disks.js";

test("roleOf: each type GUID Lifeboat tells apart, in either case, and the file-system fallbacks", () => {
  const cases: [string, string | undefined, string][] = [
    ["c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "vfat", "esp"],
    ["E3C9E316-0B5C-4DB8-817D-F92DF00215AE", undefined, "windows-msr"],
    ["de94bba4-06d1-4d40-a16a-bfd50179d6ac", "ntfs", "windows-recovery"],
    ["d999c366-3126-4451-b3c1-be31e091158c", "ext4", "recovery"],
    ["D999C366-3126-4451-B3C1-BE31E091158C", "squashfs", "recovery"],
    ["0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", undefined, "swap"],
    ["0fc63daf-8483-4772-8e79-3d69d8477de4", "swap", "swap"],
    ["0fc63daf-8483-4772-8e79-3d69d8477de4", "crypto_LUKS", "luks"],
    ["0fc63daf-8483-4772-8e79-3d69d8477de4", "btrfs", "btrfs"],
    ["ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "ntfs", "windows-data"],
    ["ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", undefined, "windows-data"],
    ["ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "ext4", "linux-data"],
    ["bc13c2ff-59e6-4262-a352-b275fd6f7172", "ext4", "boot"],
    ["0fc63daf-8483-4772-8e79-3d69d8477de4", "ext4", "linux-data"],
    ["0fc63daf-8483-4772-8e79-3d69d8477de4", "xfs", "linux-data"],
    ["0fc63daf-8483-4772-8e79-3d69d8477de4", undefined, "other"],
    ["", undefined, "other"],
    // a key of gpt's table is not a type GUID
    ["esp", "vfat", "other"],
  ];
  expect(cases.map(([guid, fs]) => roleOf(guid, fs))).toEqual(cases.map(([, , role]) => role));
});
