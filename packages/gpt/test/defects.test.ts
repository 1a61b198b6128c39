/**
 * Regressions from outside testing (issue #19): hostile sector sizes, 4Kn
 * image files, truncated images, honest recovery, one recovery partition per
 * disk, GPT_NO_SPACE in bytes. sgdisk and sfdisk make the images and check
 * what we write.
 */
import { truncate } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import { createImageFile, requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  detectSectorSize,
  MiB,
  planRecoveryPartition,
  readGpt,
  readGptRecovering,
  relocateBackup,
  type SectorSize,
  writeGpt,
} from "../src/index.js";
import { LIFEBOAT_RECOVERY_TYPE } from "../src/types.js";
import { ourView, sfdiskView } from "./_helpers.js";

const runner = createExecaRunner();
let scratch: Scratch;
beforeEach(async () => {
  requireTools("sgdisk", "sfdisk");
  scratch = await Scratch.create("lifeboat-gpt-defects-");
});
afterEach(async () => scratch.cleanup());

/** A 512-byte-sector image with one partition, made by sgdisk. */
async function sgdiskImage(name: string, bytes: bigint): Promise<string> {
  const image = await createImageFile(scratch, name, bytes);
  await sh("sgdisk", ["-o", "-n", "1:2048:+4M", "-t", "1:8300", image]);
  return image;
}

/**
 * A 4096-byte-sector image with one partition, made by sgdisk on a 4Kn loop
 * device (detached before returning); sfdisk's view of it, taken on the device.
 */
async function fourKnImage(
  name: string,
  bytes: bigint,
): Promise<{ image: string; theirs: Awaited<ReturnType<typeof sfdiskView>> }> {
  requireRoot();
  const image = await createImageFile(scratch, name, bytes);
  const device = (await sh("losetup", ["--find", "--show", "--sector-size", "4096", image])).trim();
  try {
    await sh("sgdisk", ["-o", "-n", "1:256:+4M", "-t", "1:8300", device]);
    expect(await sh("sgdisk", ["-v", device])).toContain("No problems found");
    return { image, theirs: await sfdiskView(device) };
  } finally {
    await sh("losetup", ["-d", device]);
  }
}

describe("readGpt and sector sizes (issue #19: RangeError for 0 and 1; 1000, 2048, -512 accepted)", () => {
  it.each([0, 1, 1000, 2048, -512, 4095, Number.NaN])(
    "sector size %s is GPT_BAD_SECTOR_SIZE, never a throw",
    async (size) => {
      const image = await sgdiskImage("disk.img", 16n * MiB);
      const r = await readGpt(runner, image, { sectorSize: size as SectorSize });
      expect(r.isErr()).toBe(true);
      expect(r._unsafeUnwrapErr()).toMatchObject({ code: "GPT_BAD_SECTOR_SIZE", sectorSize: size });
    },
  );

  it("512 and 4096 given explicitly still read their images", async () => {
    const small = await sgdiskImage("disk.img", 16n * MiB);
    const { image: big } = await fourKnImage("disk4k.img", 64n * MiB);
    expect((await readGpt(runner, small, { sectorSize: 512 }))._unsafeUnwrap().sectorSize).toBe(
      512,
    );
    expect((await readGpt(runner, big, { sectorSize: 4096 }))._unsafeUnwrap().sectorSize).toBe(
      4096,
    );
  });
});

describe("4Kn image files (issue #19: the CLI could not read a 4Kn disk image)", () => {
  it("the sector size is detected from where EFI PART is, and the table equals sfdisk's", async () => {
    const { image: big, theirs } = await fourKnImage("disk4k.img", 64n * MiB);
    const small = await sgdiskImage("disk.img", 16n * MiB);
    expect((await detectSectorSize(big))._unsafeUnwrap()).toBe(4096);
    expect((await detectSectorSize(small))._unsafeUnwrap()).toBe(512);
    const table = (await readGpt(runner, big))._unsafeUnwrap();
    expect(table.sectorSize).toBe(4096);
    expect(ourView(table)).toEqual(theirs);
  });

  it("a 4Kn image whose primary header is zeroed is detected from its backup at the end", async () => {
    const { image: big } = await fourKnImage("disk4k.img", 64n * MiB);
    await sh("dd", ["if=/dev/zero", `of=${big}`, "bs=4096", "seek=1", "count=1", "conv=notrunc"]);
    expect((await detectSectorSize(big))._unsafeUnwrap()).toBe(4096);
    const r = await readGptRecovering(runner, big);
    expect(r._unsafeUnwrap()).toMatchObject({ from: "backup", table: { sectorSize: 4096 } });
  });

  it("an image with no GPT at all falls back to 512", async () => {
    const blank = await createImageFile(scratch, "blank.img", 8n * MiB);
    expect((await detectSectorSize(blank))._unsafeUnwrap()).toBe(512);
  });
});

describe("truncated images (issue #19: GPT_BAD_HEADER where docs/gpt.md promises GPT_TRUNCATED)", () => {
  it.each([8n * MiB, 1024n * 1024n + 4096n, 40n * 512n])(
    "an sgdisk image of 16 MiB cut to %s bytes is GPT_TRUNCATED",
    async (bytes) => {
      const image = await sgdiskImage("disk.img", 16n * MiB);
      await truncate(image, Number(bytes));
      const r = await readGpt(runner, image);
      expect(r._unsafeUnwrapErr()).toMatchObject({
        code: "GPT_TRUNCATED",
        sectorCount: bytes / 512n,
      });
    },
  );
});

describe("GptRecovery is honest (issue #19: 'writing back repairs everything' was false for a backup not at the end)", () => {
  it("a grown disk: writing the table back leaves GPT_BACKUP_NOT_AT_END, as remainAfterWrite says; relocating repairs it", async () => {
    const image = await sgdiskImage("disk.img", 16n * MiB);
    await truncate(image, 32 * 1024 * 1024);
    const first = (await readGptRecovering(runner, image))._unsafeUnwrap();
    expect(first.problems.map((p) => p.code)).toEqual(["GPT_BACKUP_NOT_AT_END"]);
    expect(first.remainAfterWrite.map((p) => p.code)).toEqual(["GPT_BACKUP_NOT_AT_END"]);

    // What remainAfterWrite claims is true: the plain write-back does not repair it.
    (await writeGpt(runner, image, first.table))._unsafeUnwrap();
    const again = (await readGptRecovering(runner, image))._unsafeUnwrap();
    expect(again.problems.map((p) => p.code)).toEqual(["GPT_BACKUP_NOT_AT_END"]);

    const relocated = relocateBackup(first.table, {
      diskSectors: first.table.diskSectors,
    })._unsafeUnwrap();
    (await writeGpt(runner, image, relocated))._unsafeUnwrap();
    const healed = (await readGptRecovering(runner, image))._unsafeUnwrap();
    expect(healed.problems).toEqual([]);
    expect(healed.remainAfterWrite).toEqual([]);
    expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
  });

  it("a damaged backup at the end: remainAfterWrite is empty and writing back repairs it (sgdisk -v agrees)", async () => {
    const image = await sgdiskImage("disk.img", 16n * MiB);
    await sh("dd", [
      "if=/dev/zero",
      `of=${image}`,
      "bs=512",
      `seek=${16 * 2048 - 1}`,
      "count=1",
      "conv=notrunc",
    ]);
    const r = (await readGptRecovering(runner, image))._unsafeUnwrap();
    expect(r.problems.map((p) => p.code)).toEqual(["GPT_BAD_SIGNATURE"]);
    expect(r.remainAfterWrite).toEqual([]);
    (await writeGpt(runner, image, r.table))._unsafeUnwrap();
    expect((await readGpt(runner, image)).isOk()).toBe(true);
    expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
  });
});

describe("the recovery partition (issue #19: a second one was accepted)", () => {
  it("carving into a table that has one is GPT_RECOVERY_EXISTS; the first one, written, passes sgdisk -v", async () => {
    const image = await sgdiskImage("disk.img", 64n * MiB);
    const table = (await readGpt(runner, image))._unsafeUnwrap();
    const first = planRecoveryPartition({
      kind: "carve",
      table,
      recoveryBytes: 16n * MiB,
    })._unsafeUnwrap();
    (await writeGpt(runner, image, first.table))._unsafeUnwrap();
    expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
    const theirs = await sfdiskView(image);
    expect(theirs.partitions.some((p) => p.typeGuid === LIFEBOAT_RECOVERY_TYPE)).toBe(true);

    const now = (await readGpt(runner, image))._unsafeUnwrap();
    const second = planRecoveryPartition({ kind: "carve", table: now, recoveryBytes: 4n * MiB });
    expect(second._unsafeUnwrapErr()).toEqual({
      code: "GPT_RECOVERY_EXISTS",
      message: expect.stringContaining(`partition ${first.recovery.slot}`),
      slot: first.recovery.slot,
      firstLba: first.recovery.firstLba,
      lastLba: first.recovery.lastLba,
    });
  });

  it("GPT_NO_SPACE says how much in bytes a person reads, and carries the bytes", async () => {
    const image = await sgdiskImage("disk.img", 16n * MiB);
    const table = (await readGpt(runner, image))._unsafeUnwrap();
    const r = planRecoveryPartition({ kind: "carve", table, recoveryBytes: 64n * MiB });
    const e = r._unsafeUnwrapErr();
    expect(e).toMatchObject({
      code: "GPT_NO_SPACE",
      requestedSectors: 131072n,
      requestedBytes: 64n * MiB,
    });
    expect(e.code === "GPT_NO_SPACE" && e.largestFreeBytes).toBe(
      e.code === "GPT_NO_SPACE" ? e.largestFreeSectors * 512n : -1n,
    );
    expect(e.message).toMatchInlineSnapshot(
      `"No free space for 131072 sectors (64.0 MiB): the largest aligned free run is 22495 sectors (11.0 MiB)."`,
    );
  });
});
