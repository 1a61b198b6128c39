/**
 * Done-when 2: layouts made by the SDK pass `sgdisk -v`, agree with
 * `sfdisk -J` field by field, and a file system made in one mounts.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import {
  createImageFile,
  mountTemp,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPartition,
  attachPartition,
  createGptTable,
  deletePartition,
  type GptTable,
  MiB,
  partitionTypes,
  planRecoveryPartition,
  readGpt,
  resizePartition,
  writeGpt,
} from "../src/index.js";
import { ourView, pool, prng, type Rng, randomName, sfdiskView, shmDir } from "./_helpers.js";

const LAYOUTS = 200;
const runner = createExecaRunner();
let shm: Awaited<ReturnType<typeof shmDir>>;

beforeAll(async () => {
  requireTools("sgdisk", "sfdisk", "losetup", "mkfs.ext4");
  shm = await shmDir("sdk");
});
afterAll(async () => shm?.remove());

function randomTable(rng: Rng, diskSectors: bigint): GptTable {
  let table = createGptTable({
    diskBytes: diskSectors * 512n,
    diskGuid: rng.guid(),
    entryCount: rng.pick([128, 128, 128, 64, 256]),
  })._unsafeUnwrap();
  const types = partitionTypes().map((t) => t.guid);
  for (let i = rng.int(0, 24); i > 0; i--) {
    const r = rng.next();
    if (r < 0.1 && table.partitions.length > 0) {
      table = deletePartition(table, rng.pick(table.partitions).slot)._unsafeUnwrap();
      continue;
    }
    if (r < 0.2 && table.partitions.length > 0) {
      const p = rng.pick(table.partitions);
      const resized = resizePartition(table, p.slot, {
        size: rng.next() < 0.5 ? "max" : BigInt(rng.int(1, 4096)) * 512n,
      });
      if (resized.isOk()) table = resized.value;
      continue;
    }
    const added = addPartition(table, {
      size: rng.next() < 0.05 ? "rest" : BigInt(rng.int(1, 8192)) * 512n,
      typeGuid: rng.next() < 0.8 ? rng.pick(types) : rng.guid(),
      name: randomName(rng),
      attributes: BigInt.asUintN(
        64,
        BigInt(rng.int(0, 2 ** 31)) * BigInt(rng.int(0, 2 ** 31)) * BigInt(rng.int(0, 3)),
      ),
      placement: rng.pick(["first-fit", "first-fit", "end"] as const),
      alignmentBytes: BigInt(rng.pick([512, 4096, 1024 * 1024])),
      ...(rng.next() < 0.3 ? { slot: rng.int(1, table.entryCount) } : {}),
    });
    if (added.isOk()) table = added.value;
    else
      expect(["GPT_NO_SPACE", "GPT_SLOT_IN_USE", "GPT_NO_FREE_SLOT"]).toContain(added.error.code);
  }
  return table;
}

describe("SDK-made layouts", () => {
  it(`pass sgdisk -v and match sfdisk -J (${LAYOUTS} random layouts)`, async () => {
    const rng = prng(0x5eed_0002);
    const tables = Array.from({ length: LAYOUTS }, () =>
      randomTable(rng, BigInt(rng.int(4, 48) * 2048 + rng.int(0, 100))),
    );
    const results = await pool(
      4,
      tables.map((table, i) => async () => {
        const image = path.join(shm.dir, `s-${i}.img`);
        await sh("truncate", ["-s", String(table.diskSectors * 512n), image]);
        const written = await writeGpt(runner, image, table);
        expect(written.isOk(), JSON.stringify(written)).toBe(true);
        const verify = await sh("sgdisk", ["-v", image]);
        expect(verify, `layout ${i}`).toContain("No problems found");
        expect(ourView(table), `layout ${i}`).toEqual(await sfdiskView(image));
        // And our own reader gets back exactly what was written.
        expect((await readGpt(runner, image))._unsafeUnwrap()).toEqual(table);
        return table.partitions.length;
      }),
    );
    expect(Math.max(...results)).toBeGreaterThanOrEqual(10);
  });

  it("writes the protective MBR and headers exactly as sgdisk -o does", async () => {
    for (const sectors of [16384n, 2_000_000n, 40_000_000n, 5_000_000_000n]) {
      const guid = "0b0e1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3";
      const ours = path.join(shm.dir, `ours-${sectors}.img`);
      const theirs = path.join(shm.dir, `theirs-${sectors}.img`);
      await sh("truncate", ["-s", String(sectors * 512n), ours]);
      await sh("truncate", ["-s", String(sectors * 512n), theirs]);
      const table = createGptTable({ diskBytes: sectors * 512n, diskGuid: guid })._unsafeUnwrap();
      (await writeGpt(runner, ours, table))._unsafeUnwrap();
      await sh("sgdisk", ["-o", "-U", guid, theirs]);
      const tailSkip = String((sectors - 33n) * 512n);
      expect(await sh("cmp", ["-n", String(34 * 512), ours, theirs])).toBe("");
      expect(await sh("cmp", ["-i", `${tailSkip}:${tailSkip}`, ours, theirs])).toBe("");
    }
  });

  it("a file system made in an SDK-created partition mounts and holds data", async () => {
    requireRoot();
    const scratch = await Scratch.create();
    try {
      const image = await createImageFile(scratch, "disk.img", 4096n * MiB);
      const plan = planRecoveryPartition({
        kind: "fresh",
        diskBytes: 4096n * MiB,
        recoveryBytes: 512n * MiB,
      })._unsafeUnwrap();
      (await writeGpt(runner, image, plan.table))._unsafeUnwrap();
      const attached = (await attachPartition(runner, image, plan.recovery))._unsafeUnwrap();
      scratch.defer(async () => (await attached.detach())._unsafeUnwrap());
      expect(attached.offsetBytes).toBe(plan.recovery.firstLba * 512n);
      expect(BigInt((await sh("blockdev", ["--getsize64", attached.device])).trim())).toBe(
        attached.sizeBytes,
      );
      await sh("mkfs.ext4", ["-q", "-L", "lifeboat-rec", attached.device]);
      const mnt = await mountTemp(scratch, attached.device);
      await writeFile(path.join(mnt, "hello.txt"), "recovery data\n");
      await sh("umount", [mnt]);
      await sh("mount", ["-o", "ro", attached.device, mnt]);
      expect(await sh("cat", [path.join(mnt, "hello.txt")])).toBe("recovery data\n");
      // The partitions around it are untouched, and the table is still valid.
      expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
      const back = (await readGpt(runner, image))._unsafeUnwrap();
      expect(back.partitions).toEqual(plan.table.partitions);
    } finally {
      await scratch.cleanup();
    }
  });
});
