import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import {
  attachLoop,
  boot,
  createImageFile,
  makeFatImage,
  makeGrubEfi,
  type PartitionSlice,
  partitionsOf,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  writeAtOffset,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  installGrubdScript,
  recoveryMenu,
  recoveryMenuEntry,
  recoverySearch,
  renderGrubdScript,
  renderGrubScript,
} from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";
import { RECOVERY_TYPE } from "./_support/disk.js";
import { markerInitrd } from "./_support/initrd.js";

const MiB = 1024 * 1024;
const MARKER = "LIFEBOAT-RECOVERY-BOOTED";
const FS_UUID = "5b1f0c7e-6d1a-4c39-9a53-0c0ffee0b007";

interface Fixture {
  scratch: Scratch;
  image: string;
  disk: string;
  esp: PartitionSlice;
  grubd: string;
  efi: string;
}

/**
 * A GPT disk: ESP (filled per boot) and a recovery partition (ext4, label
 * LBRECOVERY) holding the Fedora live layout, /LiveOS/squashfs.img with the
 * host's kernel and a busybox initrd that prints MARKER and the kernel
 * command line to ttyS0, then powers off.
 */
async function makeFixture(): Promise<Fixture> {
  requireRoot();
  requireTools(
    "qemu-system-x86_64",
    "sgdisk",
    "mkfs.ext4",
    "mksquashfs",
    "grub-mkimage",
    "mformat",
  );
  const scratch = await Scratch.create("lifeboat-grub-boot-");
  const kernel = (await sh("sh", ["-c", "ls /boot/vmlinuz-* | sort -V | tail -n 1"])).trim();
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
    ...["-n", "1:2048:+40M", "-t", "1:ef00", "-c", "1:ESP"],
    ...["-n", "2:0:+64M", "-t", `2:${RECOVERY_TYPE}`, "-c", "2:lifeboat"],
    image,
  ]);
  const [esp, rec] = await partitionsOf(image);
  if (!esp || !rec) throw new Error("partitions missing");
  const ext4 = scratch.path("recovery.ext4");
  await sh("truncate", ["-s", String(rec.sizeBytes), ext4]);
  await sh("mkfs.ext4", ["-q", "-F", "-L", "LBRECOVERY", "-U", FS_UUID, "-d", part, ext4]);
  await writeAtOffset(image, ext4, rec.offsetBytes);

  const dir = scratch.path("grub.d");
  await mkdir(dir);
  const script = renderGrubdScript({
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
          kernelArgs: [
            "console=ttyS0",
            "lifeboat.test=it's-me",
            'lifeboat.q="a b"',
            "lifeboat.bs=a\\b",
          ],
          hotkey: "r",
        }),
      ]),
  })._unsafeUnwrap();
  await installGrubdScript(createExecaRunner(), script, { directory: dir });
  const disk = await attachLoop(scratch, image, { readOnly: true });
  const efi = await makeGrubEfi({
    output: scratch.path("BOOTX64.EFI"),
    earlyConfig: "configfile $prefix/grub.cfg\n",
  });
  return { scratch, image, disk, esp, grubd: `${dir}/41_lifeboat`, efi: efi.path };
}

const STALE_UUID = "00000000-dead-beef-0000-000000000000";

/**
 * Run the grub.d script as grub-mkconfig would, put its output on the ESP
 * after a test-only header, boot. The header first runs the recovery
 * search with a stale UUID and echoes where the label fallback set $root.
 * Resolves with that device and the kernel command line the marker reports.
 */
async function bootRecovery(
  f: Fixture,
  name: string,
): Promise<{ fallbackRoot: string; cmdline: string }> {
  const entries = await new Promise<string>((resolve, reject) =>
    execFile(f.grubd, [], { env: { ...process.env, LIFEBOAT_RECOVERY_DISKS: f.disk } }, (e, out) =>
      e ? reject(e) : resolve(out),
    ),
  );
  expect(entries).toContain("lifeboat-recovery");
  const header = renderGrubScript([
    { kind: "command", name: "serial", args: ["--unit=0", "--speed=115200"] },
    { kind: "command", name: "terminal_input", args: ["serial", "console"] },
    { kind: "command", name: "terminal_output", args: ["serial", "console"] },
    recoverySearch({ fsUuid: STALE_UUID, label: "LBRECOVERY" }),
    {
      kind: "command",
      name: "echo",
      args: [["LIFEBOAT-FALLBACK root=[", { variable: "root" }, "]"]],
    },
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
  const esp = await makeFatImage({
    output: f.scratch.path(`esp-${name}.img`),
    sizeBytes: Number(f.esp.sizeBytes),
    files: [
      { target: "EFI/BOOT/BOOTX64.EFI", source: { file: f.efi } },
      { target: "EFI/BOOT/grub.cfg", source: { bytes: cfg } },
    ],
  });
  await writeAtOffset(f.image, esp.path, f.esp.offsetBytes);
  const vm = await boot({
    disks: [{ path: f.image, snapshot: true }],
    // A self-built GRUB (grub-mkimage) under test, unsigned: shim would refuse it.
    secureBoot: false,
    timeoutMs: 150_000,
    name,
    memoryMiB: 512,
  });
  try {
    const fallback = await vm.waitFor(/LIFEBOAT-FALLBACK root=\[([^\]]*)\]/, 140_000);
    const m = await vm.waitFor(new RegExp(`${MARKER} cmdline=\\[([^\\]]*)\\]`), 140_000);
    console.info(`${name}: marker after ${vm.elapsedMs()} ms; cmdline: ${m[1]}`);
    await vm.waitForExit(30_000);
    return { fallbackRoot: fallback[1] ?? "", cmdline: m[1] ?? "" };
  } finally {
    await vm.kill();
  }
}

describe("boot proof: OVMF + GRUB boots the recovery entry from the recovery partition", () => {
  let fixture: Fixture | undefined;
  beforeAll(async () => {
    fixture = await makeFixture();
  });
  afterAll(async () => fixture?.scratch.cleanup());

  it("selects the recovery entry in its submenu, finds the partition by UUID (label as fallback), loops the squashfs, boots to the marker", async () => {
    if (!fixture) throw new Error("no fixture");
    const { fallbackRoot, cmdline } = await bootRecovery(fixture, "grub-recovery");
    // The label fallback found the recovery partition (the 2nd) although no filesystem has the UUID.
    expect(fallbackRoot).toBe("hd0,gpt2");
    expect(cmdline).toContain(`root=live:UUID=${FS_UUID}`);
    expect(cmdline).toContain("rd.live.image");
    expect(cmdline).toContain("rd.live.dir=/LiveOS");
    expect(cmdline).toContain("rd.live.squashimg=squashfs.img");
    expect(cmdline).toContain("console=ttyS0");
    // GRUB's linux loader backslash-escapes quotes when it builds the kernel command line.
    expect(cmdline).toContain("lifeboat.test=it\\'s-me");
    // A kernel argument with a quoted space stays one argument: GRUB quotes it whole
    // (the kernel reads "lifeboat.q=a b" as lifeboat.q = "a b"), never \"a b\" split in two.
    expect(cmdline).toContain('"lifeboat.q=a b"');
    // GRUB 2.06 doubles a backslash (docs/grub.md, Kernel arguments).
    expect(cmdline).toContain("lifeboat.bs=a\\\\b");
  }, 200_000);
});
