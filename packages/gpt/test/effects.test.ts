/** Effects: write order, size checks, a grown disk, repair on real files, kernel re-read, loop attach. */
import { open } from "node:fs/promises";
import path from "node:path";
import { type CommandFailedError, createExecaRunner, createRecordingRunner } from "@lifeboat/core";
import {
  attachLoop,
  createImageFile,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  attachArgs,
  attachPartition,
  kernelPartitions,
  MiB,
  planRecoveryPartition,
  readGpt,
  readGptRecovering,
  relocateBackup,
  rereadPartitions,
  type WriteGptProgress,
  writeGpt,
} from "../src/index.js";
import { ourView, sfdiskView } from "./_helpers.js";

const runner = createExecaRunner();
let scratch: Scratch;
beforeEach(async () => {
  requireTools("sgdisk", "sfdisk", "losetup", "blockdev", "partx");
  scratch = await Scratch.create("lifeboat-gpt-fx-");
});
afterEach(async () => scratch.cleanup());

async function sgdiskImage(name: string, bytes: bigint): Promise<string> {
  const image = await createImageFile(scratch, name, bytes);
  await sh("sgdisk", [
    "-n",
    "0:0:+8M",
    "-t",
    "1:ef00",
    "-c",
    "1:EFI",
    "-n",
    "0:0:+16M",
    "-t",
    "2:8300",
    "-c",
    "2:boot ü",
    "-n",
    "0:0:0",
    "-c",
    "3:fedora",
    image,
  ]);
  return image;
}

async function damage(file: string, offset: bigint, length: number): Promise<void> {
  const fh = await open(file, "r+");
  try {
    await fh.write(new Uint8Array(length).fill(0xa5), 0, length, Number(offset));
  } finally {
    await fh.close();
  }
}

describe("writeGpt", () => {
  it("writes backup entries, backup header, flush, then primary entries, MBR, primary header, flush", async () => {
    const image = await createImageFile(scratch, "order.img", 64n * MiB);
    const { table } = planRecoveryPartition({
      kind: "fresh",
      diskBytes: 64n * MiB,
      espBytes: 8n * MiB,
      bootBytes: 8n * MiB,
      recoveryBytes: 8n * MiB,
    })._unsafeUnwrap();
    const events: WriteGptProgress[] = [];
    (await writeGpt(runner, image, table, { onProgress: (e) => events.push(e) }))._unsafeUnwrap();
    expect(events.map((e) => (e.kind === "write" ? e.region : `sync:${e.after}`))).toEqual([
      "backup-entries",
      "backup-header",
      "sync:backup-header",
      "primary-entries",
      "protective-mbr",
      "primary-header",
      "sync:primary-header",
    ]);
    expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
  });

  it("refuses a disk of another size, and stops before touching anything when aborted", async () => {
    const image = await createImageFile(scratch, "size.img", 64n * MiB);
    const { table } = planRecoveryPartition({
      kind: "fresh",
      diskBytes: 32n * MiB,
      espBytes: 4n * MiB,
      bootBytes: 4n * MiB,
      recoveryBytes: 4n * MiB,
    })._unsafeUnwrap();
    const r = await writeGpt(runner, image, table);
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "GPT_DISK_SIZE_MISMATCH",
      diskSectors: 131072n,
      expectedSectors: 65536n,
    });
    const small = await createImageFile(scratch, "small.img", 32n * MiB);
    const aborted = await writeGpt(runner, small, table, { signal: AbortSignal.abort() });
    expect(aborted._unsafeUnwrapErr().code).toBe("ABORTED");
    expect((await readGpt(runner, small))._unsafeUnwrapErr().code).toBe("GPT_BAD_SIGNATURE");
  });
});

describe("damaged copies on real images (sgdisk-made)", () => {
  for (const [what, where] of [
    ["primary header", (t: { sectorSize: number }) => BigInt(t.sectorSize) + 24n],
    ["primary entries", () => 1024n + 40n],
    ["backup header", (t: { backupHeaderLba: bigint }) => t.backupHeaderLba * 512n + 60n],
    ["backup entries", (t: { backupEntriesLba: bigint }) => t.backupEntriesLba * 512n + 130n],
  ] as const) {
    it(`a damaged ${what} is reported, then repaired from the other copy`, async () => {
      const image = await sgdiskImage("dmg.img", 96n * MiB);
      const original = (await readGpt(runner, image))._unsafeUnwrap();
      await damage(image, where(original), 4);
      const strict = (await readGpt(runner, image))._unsafeUnwrapErr();
      expect(strict.code).toMatch(/^GPT_BAD_(HEADER_CRC|ENTRIES_CRC)$/);
      expect(strict).toHaveProperty("copy", what.startsWith("primary") ? "primary" : "backup");
      const recovered = (await readGptRecovering(runner, image))._unsafeUnwrap();
      expect(recovered.from).toBe(what.startsWith("primary") ? "backup" : "primary");
      expect(recovered.table).toEqual(original);
      (await writeGpt(runner, image, recovered.table))._unsafeUnwrap();
      expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
      expect((await readGpt(runner, image))._unsafeUnwrap()).toEqual(original);
    });
  }

  it("a grown disk is GPT_BACKUP_NOT_AT_END until the backup is relocated", async () => {
    const image = await sgdiskImage("grow.img", 64n * MiB);
    await sh("truncate", ["-s", String(128n * MiB), image]);
    const strict = (await readGpt(runner, image))._unsafeUnwrapErr();
    expect(strict).toMatchObject({
      code: "GPT_BACKUP_NOT_AT_END",
      backupHeaderLba: 131071n,
      lastLba: 262143n,
    });
    const { table, problems } = (await readGptRecovering(runner, image))._unsafeUnwrap();
    expect(problems.map((p) => p.code)).toEqual(["GPT_BACKUP_NOT_AT_END"]);
    const grown = relocateBackup(table, { diskSectors: 262144n })._unsafeUnwrap();
    (await writeGpt(runner, image, grown))._unsafeUnwrap();
    expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
    expect(ourView(grown)).toEqual(await sfdiskView(image));
    expect(grown.lastUsableLba).toBe(262110n);
  });
});

describe("kernel re-read", () => {
  it("builds partx -u and blockdev --rereadpt command lines", async () => {
    const rec = createRecordingRunner();
    (await rereadPartitions(rec, "/dev/sda"))._unsafeUnwrap();
    (await rereadPartitions(rec, "/dev/sda", { method: "blockdev" }))._unsafeUnwrap();
    expect(rec.calls.map((c) => [c.command, ...c.args])).toEqual([
      ["partx", "-u", "/dev/sda"],
      ["blockdev", "--rereadpt", "/dev/sda"],
    ]);
  });

  it("reports a busy disk as GPT_DEVICE_BUSY, not success", async () => {
    const busy: CommandFailedError = {
      code: "COMMAND_FAILED",
      message: "blockdev exited with code 1.",
      command: "blockdev",
      args: ["--rereadpt", "/dev/sda"],
      exitCode: 1,
      signal: undefined,
      stderrTail: "blockdev: ioctl error on BLKRRPART: Device or resource busy\n",
      durationMs: 3,
    };
    const rec = createRecordingRunner(() => ({ error: busy }));
    const r = await rereadPartitions(rec, "/dev/sda", { method: "blockdev" });
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "GPT_DEVICE_BUSY",
      device: "/dev/sda",
      cause: busy,
    });
  });

  it("on this kernel: partx -u really adds the partitions (checked in sysfs), BLKRRPART on a loop device is GPT_REREAD_UNSUPPORTED", async () => {
    requireRoot();
    const image = await sgdiskImage("kern.img", 64n * MiB);
    const table = (await readGpt(runner, image))._unsafeUnwrap();
    const device = await attachLoop(scratch, image);
    // Before any re-read the kernel knows no partitions: verification says so instead of succeeding.
    const before = await rereadPartitions(createRecordingRunner(), device, { table });
    expect(before._unsafeUnwrapErr()).toMatchObject({ code: "GPT_KERNEL_STALE", device });
    (await rereadPartitions(runner, device, { method: "partx", table }))._unsafeUnwrap();
    expect((await kernelPartitions(device))._unsafeUnwrap().map((p) => p.startBytes)).toEqual(
      table.partitions.map((p) => p.firstLba * 512n),
    );
    const r = await rereadPartitions(runner, device, { method: "blockdev" });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "GPT_REREAD_UNSUPPORTED", device });
    await sh("partx", ["-d", device]);
  });
});

describe("attachPartition", () => {
  it("passes offset, size and sector size to losetup, and rejects a bad range", async () => {
    expect(attachArgs("/img/disk.img", { firstLba: 2048n, lastLba: 4095n })).toEqual([
      "--find",
      "--show",
      "--offset",
      "1048576",
      "--sizelimit",
      "1048576",
      "--sector-size",
      "512",
      "--",
      "/img/disk.img",
    ]);
    const r = await attachPartition(createRecordingRunner(), "disk.img", {
      firstLba: 10n,
      lastLba: 9n,
    });
    expect(r._unsafeUnwrapErr()).toMatchInlineSnapshot(`
      {
        "argument": "partition",
        "code": "GPT_INVALID_ARGUMENT",
        "message": "attachPartition needs an image path and a partition whose last LBA is not before its first.",
      }
    `);
  });

  it("attaches a real partition read-only and detaches it", async () => {
    requireRoot();
    const image = await sgdiskImage("att.img", 64n * MiB);
    const table = (await readGpt(runner, image))._unsafeUnwrap();
    const p = table.partitions[1]!;
    const att = (await attachPartition(runner, image, p, { readOnly: true }))._unsafeUnwrap();
    try {
      expect(await sh("losetup", ["-l", "-n", "-O", "OFFSET,SIZELIMIT,RO", att.device])).toMatch(
        new RegExp(
          `^\\s*${p.firstLba * 512n}\\s+${(p.lastLba - p.firstLba + 1n) * 512n}\\s+1\\s*$`,
        ),
      );
    } finally {
      (await att.detach())._unsafeUnwrap();
    }
    expect(await sh("losetup", ["-j", path.resolve(image)])).toBe("");
  });
});
