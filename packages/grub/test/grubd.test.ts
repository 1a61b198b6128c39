import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, readdir, readFile, stat } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import { requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  installGrubdScript,
  recoveryMenu,
  recoveryMenuEntry,
  removeGrubdScript,
  renderGrubdScript,
} from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";
import { recoveryDisk } from "./_support/disk.js";

const runner = createExecaRunner();

function script() {
  return renderGrubdScript({
    entries: ({ fsUuid }) =>
      recoveryMenu(
        [
          recoveryMenuEntry({
            partition: { fsUuid, label: "LBRECOVERY" },
            source: {
              kind: "squashfs",
              image: "/LiveOS/squashfs.img",
              kernel: "/boot/vmlinuz",
              initrd: "/boot/initrd.img",
            },
            title: 'Recovery — it\'s "safe"; $really',
            hotkey: "r",
          }),
        ],
        { placement: "submenu" },
      ),
  })._unsafeUnwrap();
}

function run(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe("the /etc/grub.d script", () => {
  let scratch: Scratch;
  beforeEach(async () => {
    scratch = await Scratch.create("lifeboat-grubd-");
  });
  afterEach(async () => {
    await scratch.cleanup();
  });

  it("finds the recovery partition by GPT type on a disk, prints checked entries, and nothing once it is gone", async () => {
    requireRoot();
    requireTools("sgdisk", "sfdisk", "blkid", "mkfs.ext4", "grub-script-check", "losetup");
    const { image, disk, fsUuid } = await recoveryDisk(scratch);
    const dir = scratch.path("grub.d");
    await mkdir(dir);
    const installed = await installGrubdScript(runner, script(), { directory: dir });
    expect(installed._unsafeUnwrap().changed).toBe(true);
    const file = `${dir}/41_lifeboat`;

    // The kernel here parses no partition tables: lsblk shows no PARTTYPE for
    // a loop device, so this exercises the sfdisk + blkid --offset path.
    const found = await run(file, { LIFEBOAT_RECOVERY_DISKS: disk });
    expect(found.code).toBe(0);
    expect(found.stderr).toContain(fsUuid);
    expect(found.stdout).toContain(`search --no-floppy --fs-uuid --set=root ${fsUuid}`);
    expect(found.stdout).toContain(`root=live:UUID=${fsUuid}`);
    expect(found.stdout).toContain("--hotkey r");
    expect(await grubScriptCheck(found.stdout)).toEqual({ code: 0, stderr: "" });

    // The partition's type changed (it is no longer a recovery partition): no entries.
    await sh("sgdisk", ["-t", "1:8300", image]);
    await sh("blockdev", ["--flushbufs", disk]);
    const gone = await run(file, { LIFEBOAT_RECOVERY_DISKS: disk });
    expect(gone).toMatchObject({ code: 0, stdout: "" });
    expect(gone.stderr).toContain("no recovery partition");
  });

  it("is included by grub-mkconfig -o on a test tree", async () => {
    requireRoot();
    requireTools("grub-mkconfig", "unshare", "sgdisk", "mkfs.ext4");
    const { disk, fsUuid } = await recoveryDisk(scratch);
    const dir = scratch.path("grub.d");
    await mkdir(dir);
    await copyFile("/etc/grub.d/00_header", `${dir}/00_header`);
    await chmod(`${dir}/00_header`, 0o755);
    await installGrubdScript(runner, script(), { directory: dir });
    const out = scratch.path("grub.cfg");
    // A private mount namespace: /etc/grub.d is the test tree only for this grub-mkconfig.
    await sh("unshare", [
      "-m",
      "sh",
      "-c",
      'mount --bind "$1" /etc/grub.d && LIFEBOAT_RECOVERY_DISKS="$2" exec grub-mkconfig -o "$3"',
      "sh",
      dir,
      disk,
      out,
    ]);
    const cfg = await readFile(out, "utf8");
    expect(cfg).toContain("### BEGIN /etc/grub.d/41_lifeboat ###");
    expect(cfg).toContain(`search --no-floppy --fs-uuid --set=root ${fsUuid}`);
    expect(cfg).toContain("submenu --class lifeboat --id lifeboat-recovery-menu --");
    expect(await grubScriptCheck(cfg)).toEqual({ code: 0, stderr: "" });
  });

  it("installs idempotently and atomically, keeps the old file when the check fails, removes idempotently", async () => {
    const dir = scratch.path("grub.d");
    await mkdir(dir);
    const s = script();
    expect((await installGrubdScript(runner, s, { directory: dir }))._unsafeUnwrap()).toEqual({
      path: `${dir}/41_lifeboat`,
      changed: true,
    });
    expect((await stat(`${dir}/41_lifeboat`)).mode & 0o777).toBe(0o755);
    expect((await installGrubdScript(runner, s, { directory: dir }))._unsafeUnwrap().changed).toBe(
      false,
    );

    const broken = { ...s, script: `${s.script}# v2\n`, sampleOutput: "menuentry 'x' {\n" };
    const r = await installGrubdScript(runner, broken, { directory: dir });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "GRUB_SCRIPT_INVALID" });
    expect(await readFile(`${dir}/41_lifeboat`, "utf8")).toBe(s.script);

    // The script runs and prints exactly what it claims, but that is not valid GRUB.
    const printsBroken = {
      ...s,
      script: "#!/bin/sh\nprintf 'menuentry x {\\n'\n",
      sampleOutput: "menuentry x {\n",
    };
    expect(
      (await installGrubdScript(runner, printsBroken, { directory: dir }))._unsafeUnwrapErr(),
    ).toMatchObject({
      code: "GRUB_SCRIPT_INVALID",
    });
    expect(await readFile(`${dir}/41_lifeboat`, "utf8")).toBe(s.script);
    expect(await readdir(dir)).toEqual(["41_lifeboat"]);

    const badSh = { ...s, script: "#!/bin/sh\nif then fi (\n" };
    expect(
      (await installGrubdScript(runner, badSh, { directory: dir }))._unsafeUnwrapErr().code,
    ).toBe("COMMAND_FAILED");
    expect(await readFile(`${dir}/41_lifeboat`, "utf8")).toBe(s.script);

    expect((await removeGrubdScript({ directory: dir }))._unsafeUnwrap().changed).toBe(true);
    expect((await removeGrubdScript({ directory: dir }))._unsafeUnwrap().changed).toBe(false);
  });
});
