/** Done-when 4: a 4096-byte-sector loop device (losetup -b 4096), end to end. */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import {
  attachLoop,
  createImageFile,
  mountTemp,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  attachPartition,
  createGptTable,
  MiB,
  planRecoveryPartition,
  readGpt,
  writeGpt,
} from "../src/index.js";
import { ourView, sfdiskView } from "./_helpers.js";

const runner = createExecaRunner();
let scratch: Scratch;
beforeEach(async () => {
  requireRoot();
  requireTools("losetup", "sgdisk", "sfdisk", "mkfs.ext4", "blockdev");
  scratch = await Scratch.create("lifeboat-gpt-4kn-");
});
afterEach(async () => scratch.cleanup());

describe("4Kn disks", () => {
  it("SDK table on a 4096-byte-sector loop device: sgdisk -v, sfdisk -J, our reader, and a mounted file system agree", async () => {
    const image = await createImageFile(scratch, "disk4k.img", 512n * MiB);
    const device = await attachLoop(scratch, image, { sectorSize: 4096 });
    expect((await sh("blockdev", ["--getss", device])).trim()).toBe("4096");
    const plan = planRecoveryPartition({
      kind: "fresh",
      diskBytes: 512n * MiB,
      sectorSize: 4096,
      espBytes: 64n * MiB,
      bootBytes: 128n * MiB,
      recoveryBytes: 96n * MiB,
    })._unsafeUnwrap();
    expect(plan.table.firstUsableLba).toBe(6n); // 2 + 16 KiB of entries in 4 KiB sectors
    (await writeGpt(runner, device, plan.table))._unsafeUnwrap();
    expect(await sh("sgdisk", ["-v", device])).toContain("No problems found");
    const theirs = await sfdiskView(device);
    expect(theirs.sectorSize).toBe(4096);
    expect(ourView(plan.table)).toEqual(theirs);
    expect((await readGpt(runner, device))._unsafeUnwrap()).toEqual(plan.table);

    // The recovery partition, addressed by offset in the image, as a 4K-sector device.
    const part = (
      await attachPartition(runner, image, plan.recovery, { sectorSize: 4096 })
    )._unsafeUnwrap();
    scratch.defer(async () => (await part.detach())._unsafeUnwrap());
    expect(part.offsetBytes).toBe(plan.recovery.firstLba * 4096n);
    expect((await sh("blockdev", ["--getss", part.device])).trim()).toBe("4096");
    await sh("mkfs.ext4", ["-q", "-b", "4096", part.device]);
    const mnt = await mountTemp(scratch, part.device);
    await writeFile(path.join(mnt, "factory.txt"), "4Kn works\n");
    expect(await sh("cat", [path.join(mnt, "factory.txt")])).toBe("4Kn works\n");
  });

  it("an empty 4Kn table is byte-identical to sgdisk -o's, and sgdisk-made 4Kn tables parse as sfdisk says", async () => {
    const guid = "4c1f7e2a-9b3d-4e5f-a6b7-c8d9e0f1a2b3";
    const a = await attachLoop(scratch, await createImageFile(scratch, "a.img", 64n * MiB), {
      sectorSize: 4096,
    });
    const b = await attachLoop(scratch, await createImageFile(scratch, "b.img", 64n * MiB), {
      sectorSize: 4096,
    });
    const table = createGptTable({
      diskBytes: 64n * MiB,
      sectorSize: 4096,
      diskGuid: guid,
    })._unsafeUnwrap();
    (await writeGpt(runner, a, table))._unsafeUnwrap();
    await sh("sgdisk", ["-o", "-U", guid, b]);
    expect(await sh("cmp", [a, b])).toBe("");

    await sh("sgdisk", [
      "-n",
      "0:0:+8M",
      "-t",
      "1:ef00",
      "-c",
      "1:EFI 😀",
      "-n",
      "0:0:+16M",
      "-t",
      "2:d999c366-3126-4451-b3c1-be31e091158c",
      "-A",
      "2:set:63",
      "-c",
      "2:Lifeboat Recovery",
      b,
    ]);
    const parsed = (await readGpt(runner, b))._unsafeUnwrap();
    expect(parsed.sectorSize).toBe(4096);
    expect(ourView(parsed)).toEqual(await sfdiskView(b));
  });
});
