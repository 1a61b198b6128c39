/**
 * Every example runs here, on loop-backed disk images: preload a factory
 * image, add a recovery partition to an existing disk, verify the recovery
 * image (and reject a tampered one), and a custom reset UI flow.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { readGpt } from "@lifeboat/gpt";
import { exportPublicKeyPem, generateKeyPair, readCurrentImageSet } from "@lifeboat/image";
import { requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRecoveryPartition } from "../add-recovery-partition.js";
import { resetWithUi } from "../custom-reset-ui.js";
import {
  attachDisk,
  installSystem,
  layOutDisk,
  mountDevice,
  provisionDisk,
} from "../preload-factory-image.js";
import { verifyRecoveryImage } from "../verify-recovery-image.js";

const runner = createExecaRunner();
const key = generateKeyPair();
let scratch: Scratch;
let image: string;
let pubFile: string;

beforeAll(async () => {
  requireRoot();
  requireTools("sgdisk", "mkfs.btrfs", "mkfs.ext4", "mkfs.vfat", "mksquashfs");
  scratch = await Scratch.create("lifeboat-examples-");
  image = scratch.path("preload.img");
  pubFile = scratch.path("public.pem");
  await writeFile(pubFile, exportPublicKeyPem(key.publicKey));
}, 60_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("examples", () => {
  it("preload-factory-image: layout, system, provision with a signed recovery image", async () => {
    await layOutDisk(runner, image, { diskMiB: 800, recoveryMiB: 160 });
    await installSystem(runner, image, {
      sources: ["/usr/share/zoneinfo"],
      kernelVersion: "6.8.5-301.fc40.x86_64",
    });
    const done = await provisionDisk(runner, image, { product: "Contoso", build: "E1", key });
    expect(done.setId).toMatch(/^Contoso-E1-[0-9a-f]{12}$/);
    const table = (await readGpt(runner, image))._unsafeUnwrap();
    expect(table.partitions.map((p) => p.typeGuid)[2]).toBe("d999c366-3126-4451-b3c1-be31e091158c");
    // sgdisk, the second opinion, finds no problem in the table
    expect(await sh("sgdisk", ["-v", image])).toContain("No problems found");
  });

  it("verify-recovery-image: accepts the installed set, rejects a flipped byte", async () => {
    const disk = await attachDisk(runner, image);
    const rec = await mountDevice(runner, disk.recovery, "ext4");
    try {
      const dir = (await readCurrentImageSet(rec.dir))._unsafeUnwrap().dir;
      const percents: number[] = [];
      const good = await verifyRecoveryImage(dir, pubFile, (p) => percents.push(p));
      expect(good).toMatchObject({ ok: true, product: "Contoso", version: "E1", keyId: key.keyId });
      expect(percents.at(-1)).toBe(100);
      const file = path.join(dir, "root.squashfs");
      const bytes = await readFile(file);
      bytes.writeUInt8((bytes.readUInt8(4096 + 17) ^ 1) & 0xff, 4096 + 17);
      await writeFile(file, bytes);
      const bad = await verifyRecoveryImage(dir, pubFile);
      expect(bad.ok).toBe(false);
      expect(bad).toMatchObject({ code: expect.stringMatching(/^IMAGE_/) });
    } finally {
      await rec.unmount();
      await disk.detach();
    }
  });

  it("custom-reset-ui: the disk opened, plan shown, digest accepted, progress events, reset done", async () => {
    const seen: string[] = [];
    const shown: string[] = [];
    const cancelled = await resetWithUi(runner, image, {
      confirm: async () => undefined,
      progress: () => {},
    });
    expect(cancelled).toEqual({ done: false, error: "cancelled" });
    const r = await resetWithUi(runner, image, {
      confirm: async (p, lines) => {
        shown.push(...lines);
        return p.digest;
      },
      progress: (e) => seen.push(e.type),
    });
    expect(r).toMatchObject({ done: true, steps: 8 });
    expect(shown.some((l) => l.startsWith("DESTROYS subvolume root"))).toBe(true);
    expect(seen.filter((t) => t === "step-finished")).toHaveLength(8);
    // Everything the machine attached and mounted is released.
    expect((await sh("losetup", ["-j", image])).trim()).toBe("");
  });

  it("add-recovery-partition: carves a recovery partition from free space", async () => {
    const disk = scratch.path("existing.img");
    await sh("truncate", ["-s", "256M", disk]);
    await sh("sgdisk", ["-o", "-n1:0:+64M", "-t1:ef00", "-n2:0:+96M", "-t2:8300", disk]);
    const p = await addRecoveryPartition(runner, disk, 64);
    expect(p.slot).toBe(3);
    const out = await sh("sgdisk", ["-i3", disk]);
    expect(out.toUpperCase()).toContain("D999C366-3126-4451-B3C1-BE31E091158C");
    expect(await sh("sgdisk", ["-v", disk])).toContain("No problems found");
  });
});
