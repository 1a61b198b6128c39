import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
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
  unmount,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filesystemInfo, isSeed, makeSeed, removeSeed, sprout } from "../src/index.js";
import { treeManifest } from "./tree-manifest.js";

const runner = createExecaRunner();
let scratch: Scratch;

async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** 1 MiB that occurs nowhere else: proves on which image new data landed. */
const MARKER = Buffer.alloc(1024 * 1024, "lifeboat-sprout-marker-7f3a9c;");

async function imageContains(image: string, needle: Buffer): Promise<boolean> {
  return (await readFile(image)).includes(needle.subarray(0, 4096));
}

beforeAll(() => {
  requireRoot();
  requireTools("btrfs", "btrfstune", "mkfs.btrfs");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("seed devices", () => {
  it("seed -> sprout -> write -> remove seed: new data on the new device, the seed image untouched", async () => {
    scratch = await Scratch.create("lifeboat-btrfs-seed-");
    const seedImage = await createImageFile(scratch, "seed.img", 256 * 1024 ** 2);
    const seedDev = await attachLoop(scratch, seedImage);
    await sh("mkfs.btrfs", ["-q", "-f", "-L", "recovery", seedDev]);
    const m = await mountTemp(scratch, seedDev, { type: "btrfs" });
    await sh("cp", ["-a", "/usr/share/vim", path.join(m, "vim")]);
    await writeFile(path.join(m, "factory.txt"), "factory image\n");
    const seedTree = await treeManifest(m);
    await unmount(m);

    expect((await isSeed(runner, seedDev))._unsafeUnwrap()).toBe(false);
    (await makeSeed(runner, seedDev))._unsafeUnwrap();
    expect((await isSeed(runner, seedDev))._unsafeUnwrap()).toBe(true);
    const seedSum = await fileSha256(seedImage);

    const targetImage = await createImageFile(scratch, "target.img", 320 * 1024 ** 2);
    const targetDev = await attachLoop(scratch, targetImage);
    const mnt = await mountTemp(scratch, seedDev, { type: "btrfs" });
    // A seed mounts read-only.
    await expect(writeFile(path.join(mnt, "x"), "x")).rejects.toMatchObject({ code: "EROFS" });
    const seedFs = (await filesystemInfo(runner, seedDev))._unsafeUnwrap();

    const sprouted = (await sprout(runner, { mountpoint: mnt, device: targetDev }))._unsafeUnwrap();
    expect(sprouted.devices.map((d) => d.path).sort()).toEqual([seedDev, targetDev].sort());
    expect(sprouted.uuid).not.toBe(seedFs.uuid);
    await writeFile(path.join(mnt, "after-sprout.bin"), MARKER);
    await writeFile(path.join(mnt, "factory.txt"), "changed after sprouting\n");
    await sh("sync", []);
    // Reads of old files come from the seed.
    expect(await treeManifest(path.join(mnt, "vim"))).toEqual(
      seedTree.filter((l) => l.startsWith("vim/")).map((l) => l.slice(4)),
    );

    await unmount(mnt);
    expect(await fileSha256(seedImage)).toBe(seedSum);
    expect(await imageContains(targetImage, MARKER)).toBe(true);
    expect(await imageContains(seedImage, MARKER)).toBe(false);

    // Mount the sprout from its own device (the seed is found by scan) and drop the seed.
    await sh("btrfs", ["device", "scan", seedDev]);
    const again = await mountTemp(scratch, targetDev, { type: "btrfs" });
    const alone = (
      await removeSeed(runner, { mountpoint: again, device: seedDev })
    )._unsafeUnwrap();
    expect(alone.devices.map((d) => d.path)).toEqual([targetDev]);
    expect(alone.missingDevices).toBe(false);
    await unmount(again);

    // Forget the seed and mount the target alone: it is complete.
    await sh("btrfs", ["device", "scan", "--forget"]);
    const alone2 = await mountTemp(scratch, targetDev, { type: "btrfs" });
    expect(await readFile(path.join(alone2, "factory.txt"), "utf8")).toBe(
      "changed after sprouting\n",
    );
    expect((await readFile(path.join(alone2, "after-sprout.bin"))).equals(MARKER)).toBe(true);
    expect(await treeManifest(path.join(alone2, "vim"))).toEqual(
      seedTree.filter((l) => l.startsWith("vim/")).map((l) => l.slice(4)),
    );
    // Removing the seed copies its data over and leaves the seed image as it was.
    expect(await fileSha256(seedImage)).toBe(seedSum);
  });

  it("refuses to make a mounted filesystem a seed", async () => {
    const s = await Scratch.create("lifeboat-btrfs-seed2-");
    try {
      const image = await createImageFile(s, "m.img", 256 * 1024 ** 2);
      const dev = await attachLoop(s, image);
      await sh("mkfs.btrfs", ["-q", "-f", dev]);
      await mountTemp(s, dev, { type: "btrfs" });
      const r = await makeSeed(runner, dev);
      expect(r._unsafeUnwrapErr()).toMatchObject({ code: "BTRFS_SEED_STATE", device: dev });
    } finally {
      await s.cleanup();
    }
  });
});
