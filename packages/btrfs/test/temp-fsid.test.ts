/**
 * A copy of a Btrfs mounted while the original is mounted gets a temporary
 * UUID from Linux 6.7 on (`temp_fsid`). Lifeboat names filesystems by the UUID
 * on the disk (plans, journals), so both backends and `filesystemInfo` must
 * report that one for the copy too: before, a reset journaled on a disk was
 * refused at `reset.check` while any copy of that disk was mounted elsewhere
 * (seen in the crash-state suite, where image copies are checked side by side).
 */
import { copyFile } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import { attachLoop, createBtrfs, mountTemp, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filesystemInfo, openBtrfs } from "../src/index.js";

const runner = createExecaRunner();
let scratch: Scratch;
let onDisk: string;
let copyTop: string;

beforeAll(async () => {
  scratch = await Scratch.create("temp-fsid");
  const original = await createBtrfs(scratch, { bytes: 300 * 2 ** 20 });
  onDisk = (await sh("blkid", ["-s", "UUID", "-o", "value", original.device])).trim();
  await sh("sync", ["-f", original.mountpoint]);
  const copy = scratch.path("copy.img");
  await copyFile(original.image, copy);
  copyTop = await mountTemp(scratch, await attachLoop(scratch, copy), { type: "btrfs" });
});

afterAll(async () => {
  await scratch?.cleanup();
});

describe("a copy mounted beside its original (temp_fsid)", () => {
  it("is mounted by the kernel under a temporary UUID (the premise)", async () => {
    const shown = await sh("btrfs", ["filesystem", "show", "--raw", copyTop]);
    expect(shown).not.toContain(onDisk);
  });

  it.each(["agent", "programs"] as const)(
    "%s backend: filesystem() gives the UUID on the disk",
    async (backend) => {
      const fs = await openBtrfs(runner, copyTop, { backend });
      expect(fs.isOk()).toBe(true);
      const handle = fs._unsafeUnwrap();
      try {
        expect((await handle.filesystem())._unsafeUnwrap().uuid).toBe(onDisk);
      } finally {
        await handle.close();
      }
    },
  );

  it("filesystemInfo gives the UUID on the disk", async () => {
    expect((await filesystemInfo(runner, copyTop))._unsafeUnwrap().uuid).toBe(onDisk);
  });
});
