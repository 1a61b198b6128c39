import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import {
  attachLoop,
  boot,
  createImageFile,
  makeFatImage,
  makeGrubEfi,
  partitionsOf,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  writeAtOffset,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import {
  installGrubdScript,
  recoveryMenu,
  recoveryMenuEntry,
  renderGrubdScript,
  renderGrubScript,
} from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";
import { RECOVERY_TYPE } from "./_support/disk.js";
import { markerInitrd } from "./_support/initrd.js";

const MiB = 1024 * 1024;
const MARKER = "LIFEBOAT-RECOVERY-BOOTED";
const FS_UUID = "5b1f0c7e-6d1a-4c39-9a53-0c0ffee0b007";

describe("boot proof: OVMF + GRUB boots the recovery entry from the recovery partition", () => {
  const scratchP = Scratch.create("lifeboat-grub-boot-");
  afterAll(async () => (await scratchP).cleanup());

  it("selects the recovery entry (inside its submenu), loops the squashfs, boots its kernel and sees the marker", async () => {
    requireRoot();
    requireTools(
      "qemu-system-x86_64",
      "sgdisk",
      "mkfs.ext4",
      "mksquashfs",
      "grub-mkimage",
      "mformat",
    );
    const scratch = await scratchP;
    const kernel = (await sh("sh", ["-c", "ls /boot/vmlinuz-* | sort -V | tail -n 1"])).trim();
    expect(kernel).toMatch(/vmlinuz-/);

    // The Fedora live layout: /LiveOS/squashfs.img holding /boot/vmlinuz and /boot/initrd.img.
    const live = scratch.path("live");
    await mkdir(`${live}/boot`, { recursive: true });
    await sh("cp", [kernel, `${live}/boot/vmlinuz`]);
    await markerInitrd(scratch.path("initrd-root"), `${live}/boot/initrd.img`, MARKER);
    const part = scratch.path("part");
    await mkdir(`${part}/LiveOS`, { recursive: true });
    await sh("mksquashfs", [
      live,
      `${part}/LiveOS/squashfs.img`,
      "-quiet",
      "-noappend",
      "-comp",
      "gzip",
    ]);

    const image = await createImageFile(scratch, "disk.img", 128 * MiB);
    await sh("sgdisk", [
      "-n",
      "1:2048:+40M",
      "-t",
      "1:ef00",
      "-c",
      "1:ESP",
      "-n",
      "2:0:+64M",
      "-t",
      `2:${RECOVERY_TYPE}`,
      "-c",
      "2:lifeboat",
      image,
    ]);
    const [espPart, recPart] = await partitionsOf(image);
    if (!espPart || !recPart) throw new Error("partitions missing");
    const ext4 = scratch.path("recovery.ext4");
    await sh("truncate", ["-s", String(recPart.sizeBytes), ext4]);
    await sh("mkfs.ext4", ["-q", "-F", "-L", "LBRECOVERY", "-U", FS_UUID, "-d", part, ext4]);
    await writeAtOffset(image, ext4, recPart.offsetBytes);

    // The config: what our grub.d script prints for this disk, after a test-only header.
    const dir = scratch.path("grub.d");
    await mkdir(dir);
    const grubd = renderGrubdScript({
      entries: ({ fsUuid }) =>
        recoveryMenu([
          recoveryMenuEntry({
            partition: { fsUuid, label: "LBRECOVERY" },
            source: {
              kind: "squashfs",
              image: "/LiveOS/squashfs.img",
              kernel: "/boot/vmlinuz",
              initrd: "/boot/initrd.img",
            },
            kernelArgs: ["console=ttyS0", "lifeboat.test=it's-me"],
            hotkey: "r",
          }),
        ]),
    })._unsafeUnwrap();
    await installGrubdScript(createExecaRunner(), grubd, { directory: dir });
    const disk = await attachLoop(scratch, image, { readOnly: true });
    const entries = await new Promise<string>((resolve, reject) =>
      execFile(
        `${dir}/41_lifeboat`,
        [],
        { env: { ...process.env, LIFEBOAT_RECOVERY_DISKS: disk } },
        (e, out) => (e ? reject(e) : resolve(out)),
      ),
    );
    expect(entries).toContain(FS_UUID);
    const header = renderGrubScript([
      { kind: "command", name: "serial", args: ["--unit=0", "--speed=115200"] },
      { kind: "command", name: "terminal_input", args: ["serial", "console"] },
      { kind: "command", name: "terminal_output", args: ["serial", "console"] },
      { kind: "set", name: "timeout", value: "1" },
      // Test only: a real system never makes recovery the default.
      { kind: "set", name: "default", value: "lifeboat-recovery-menu>lifeboat-recovery" },
      {
        kind: "menuentry",
        title: "Normal system (absent)",
        id: "normal",
        body: [{ kind: "command", name: "halt", args: [] }],
      },
    ])._unsafeUnwrap();
    const cfg = `${header}${entries}`;
    expect(await grubScriptCheck(cfg)).toEqual({ code: 0, stderr: "" });

    const efi = await makeGrubEfi({
      output: scratch.path("BOOTX64.EFI"),
      earlyConfig: "configfile $prefix/grub.cfg\n",
    });
    const esp = await makeFatImage({
      output: scratch.path("esp.img"),
      sizeBytes: Number(espPart.sizeBytes),
      files: [
        { target: "EFI/BOOT/BOOTX64.EFI", source: { file: efi.path } },
        { target: "EFI/BOOT/grub.cfg", source: { bytes: cfg } },
      ],
    });
    await writeAtOffset(image, esp.path, espPart.offsetBytes);
    await writeFile(scratch.path("grub.cfg"), cfg);

    const vm = await boot({
      disks: [{ path: image, snapshot: true }],
      timeoutMs: 150_000,
      name: "grub-recovery",
      memoryMiB: 512,
    });
    try {
      const m = await vm.waitFor(new RegExp(`${MARKER} cmdline=\\[([^\\]]*)\\]`), 140_000);
      const cmdline = m[1] ?? "";
      expect(cmdline).toContain(`root=live:UUID=${FS_UUID}`);
      expect(cmdline).toContain("rd.live.image");
      expect(cmdline).toContain("rd.live.squashimg=squashfs.img");
      expect(cmdline).toContain("console=ttyS0");
      // GRUB's linux loader backslash-escapes quotes when it builds the kernel command line.
      expect(cmdline).toContain("lifeboat.test=it\\'s-me");
      console.info(
        `recovery entry booted to the marker in ${vm.elapsedMs()} ms; cmdline: ${cmdline}`,
      );
      await vm.waitForExit(30_000);
    } finally {
      await vm.kill();
    }
    expect(await readFile(scratch.path("grub.cfg"), "utf8")).toBe(cfg);
  }, 200_000);
});
