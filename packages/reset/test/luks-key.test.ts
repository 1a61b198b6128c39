/**
 * LUKS keys on real LUKS2 headers (this kernel has no device-mapper, so
 * opening is proved in the QEMU guest: packages/e2e/test/boot-chain-luks.test.ts).
 */
import { writeFile } from "node:fs/promises";
import {
  attachLoop,
  createImageFile,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kernelDeviceName } from "../src/_internal/block-device.js";
import { checkLuksKey, inspect, luksContainerToUnlock } from "../src/index.js";
import { laptop } from "./fixtures.js";
import { runner } from "./support/machine.js";

let scratch: Scratch;
beforeEach(async () => {
  scratch = await Scratch.create("lifeboat-reset-luks-");
});
afterEach(async () => {
  await scratch.cleanup();
});

describe("LUKS keys", () => {
  it("checks a key against the key slots: the right one passes, a wrong one is RESET_LUKS_WRONG_KEY", async () => {
    requireRoot();
    requireTools("cryptsetup");
    const image = await createImageFile(scratch, "luks.img", 24 * 1024 * 1024);
    const dev = await attachLoop(scratch, image);
    const key = scratch.path("key");
    await writeFile(key, "correct horse battery staple");
    await sh("cryptsetup", [
      "luksFormat",
      "--batch-mode",
      "--type",
      "luks2",
      "--pbkdf",
      "pbkdf2",
      "--pbkdf-force-iterations",
      "1000",
      "--key-file",
      key,
      dev,
    ]);
    expect((await checkLuksKey(runner, dev, { key: "correct horse battery staple" })).isOk()).toBe(
      true,
    );
    // A trailing newline is part of the key (cryptsetup reads key files as bytes).
    expect(
      (
        await checkLuksKey(runner, dev, { key: "correct horse battery staple\n" })
      )._unsafeUnwrapErr(),
    ).toEqual({
      code: "RESET_LUKS_WRONG_KEY",
      message: `No key slot of the encrypted volume ${dev} opens with this key; nothing was changed.`,
      device: dev,
    });
    const notLuks = await attachLoop(scratch, await createImageFile(scratch, "plain.img", 1 << 20));
    expect((await checkLuksKey(runner, notLuks, { key: "x" }))._unsafeUnwrapErr().code).toBe(
      "COMMAND_FAILED",
    );
  });

  it("asks for a key only when the Btrfs is behind a locked container", async () => {
    requireRoot();
    requireTools("cryptsetup", "sgdisk");
    const image = await createImageFile(scratch, "disk.img", 64 * 1024 * 1024);
    await sh("sgdisk", ["-o", "-n1:0:+8M", "-t1:ef00", "-n2:0:0", "-t2:8309", image]);
    const parts = JSON.parse(await sh("sfdisk", ["-J", image])).partitiontable.partitions as Array<{
      start: number;
      size: number;
    }>;
    const p2 = parts[1]!;
    const dev = await attachLoop(scratch, image, {
      offset: p2.start * 512,
      sizeLimit: p2.size * 512,
    });
    await sh(
      "cryptsetup",
      [
        "luksFormat",
        "--batch-mode",
        "--pbkdf",
        "pbkdf2",
        "--pbkdf-force-iterations",
        "1000",
      ].concat(["--key-file", "-", dev]),
      { stdin: "k" },
    );
    const locked = (
      await inspect(runner, {
        disks: [{ device: image, partitions: [{ number: 2, device: dev }] }],
      })
    )._unsafeUnwrap();
    expect(luksContainerToUnlock(locked)).toMatchObject({ device: dev, role: "luks" });
    // A readable Btrfs (plain, or its container already open): no key is asked for.
    expect(luksContainerToUnlock(laptop())).toBeUndefined();
    expect(luksContainerToUnlock({ ...locked, btrfs: laptop().btrfs })).toBeUndefined();
    // No container at all: nothing to unlock either.
    expect(luksContainerToUnlock({ ...locked, disks: [] })).toBeUndefined();
  });

  // Regression: in the recovery environment (no udev) libdevmapper makes /dev/mapper/<name> a node
  // of its own, not a symlink to ../dm-0; reset.check then did not find the mapping in sysfs.
  it("names a device by its number, also through a node of its own", async () => {
    requireRoot();
    const dev = await attachLoop(scratch, await createImageFile(scratch, "n.img", 1 << 20));
    const node = scratch.path("own-node");
    const rdev = (await sh("stat", ["-c", "%t %T", dev])).trim().split(" ");
    await sh("mknod", [
      node,
      "b",
      String(Number.parseInt(rdev[0]!, 16)),
      String(Number.parseInt(rdev[1]!, 16)),
    ]);
    expect(await kernelDeviceName(node)).toBe(dev.replace("/dev/", ""));
    expect(await kernelDeviceName(dev)).toBe(dev.replace("/dev/", ""));
    expect(await kernelDeviceName(scratch.path("missing"))).toBe("missing");
  });
});
