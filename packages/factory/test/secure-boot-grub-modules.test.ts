// The modules built into Debian's signed GRUB, read from its `mods` section, and the check that
// names an `insmod` of one it lacks (issue #21: under Secure Boot GRUB refuses to load others).
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { grubBuiltInModules, insmodModules } from "../src/_internal/grub-modules.js";
import { checkSecureBoot } from "../src/index.js";

const runner = createExecaRunner();
const SHIM = "/usr/lib/shim/shimx64.efi.signed";
const SIGNED_GRUB = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
const KERNEL = "/boot/vmlinuz-6.1.0-57-amd64";
let scratch: Scratch;

beforeAll(async () => {
  requireTools("sbverify", "objcopy");
  scratch = await Scratch.create("lifeboat-grub-modules-");
});
afterAll(async () => {
  await scratch?.cleanup();
});

it("reads the 125 modules built into Debian's signed GRUB", async () => {
  const modules = await grubBuiltInModules(runner, SIGNED_GRUB);
  expect(modules).toHaveLength(125);
  for (const m of ["part_gpt", "ext2", "btrfs", "squash4", "loopback", "linux", "search"])
    expect(modules).toContain(m);
  expect(modules).not.toContain("blscfg");
  expect(await grubBuiltInModules(runner, KERNEL)).toBeUndefined();
  expect(insmodModules("insmod part_gpt\n  insmod ext2\n# insmod no\ninsmod part_gpt\n")).toEqual([
    "part_gpt",
    "ext2",
  ]);
});

it("warns of an insmod of a module the signed GRUB lacks, per configuration (GRUB refuses it and goes on)", async () => {
  const esp = scratch.path("esp");
  await mkdir(path.join(esp, "EFI/BOOT"), { recursive: true });
  await copyFile(SHIM, path.join(esp, "EFI/BOOT/BOOTX64.EFI"));
  await copyFile(SIGNED_GRUB, path.join(esp, "EFI/BOOT/grubx64.efi"));
  const report = (
    await checkSecureBoot({
      runner,
      esp,
      kernels: [{ role: "system", path: KERNEL }],
      grubConfigs: [
        { name: "/boot/grub2/grub.cfg", text: "insmod part_gpt\ninsmod blscfg\nblscfg\n" },
        { name: "/boot/grub2/custom.cfg", text: "insmod part_gpt\ninsmod ext2\n" },
      ],
    })
  )._unsafeUnwrap();
  expect(report.bootable).toBe(true);
  expect(report.paths[0]?.problems).toEqual([]);
  expect(report.warnings).toEqual([
    expect.objectContaining({
      code: "SECURE_BOOT_GRUB_MODULE_MISSING",
      module: "blscfg",
      config: "/boot/grub2/grub.cfg",
      path: path.join(esp, "EFI/BOOT/grubx64.efi"),
    }),
  ]);
});
