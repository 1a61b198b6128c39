// The Secure Boot pre-flight on an ESP that is not mounted (issue #21): a FAT image read with
// mtools holding Debian's signed shim with the signed GRUB passes; with GRUB's signature
// stripped it is refused (SECURE_BOOT_UNBOOTABLE) naming the GRUB as <device>:/EFI/...; an
// ESP without EFI/BOOT/BOOTX64.EFI is not checked (null).
import { chmod, copyFile } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import { makeFatImage, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkEspSecureBoot, secureBootRefusal } from "../src/index.js";

const runner = createExecaRunner();
const SHIM = "/usr/lib/shim/shimx64.efi.signed";
const SIGNED_GRUB = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
const KERNEL = "/boot/vmlinuz-6.1.0-57-amd64";
let scratch: Scratch;

async function fat(name: string, files: { target: string; file: string }[]): Promise<string> {
  const img = await makeFatImage({
    output: scratch.path(`${name}.img`),
    sizeBytes: 48 * 1024 * 1024,
    files: files.map((f) => ({ target: f.target, source: { file: f.file } })),
  });
  return img.path;
}

beforeAll(async () => {
  requireTools("sbverify", "sbattach", "mformat", "mcopy");
  scratch = await Scratch.create("lifeboat-secure-boot-esp-");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("checkEspSecureBoot", () => {
  it("passes the signed chain read from a FAT image; a stripped GRUB is refused, named on the device", async () => {
    const kernels = [{ role: "system", path: KERNEL }];
    const signed = await fat("signed", [
      { target: "EFI/BOOT/BOOTX64.EFI", file: SHIM },
      { target: "EFI/BOOT/grubx64.efi", file: SIGNED_GRUB },
    ]);
    const ok = (await checkEspSecureBoot({ runner, device: signed, kernels }))._unsafeUnwrap();
    expect(ok?.bootable).toBe(true);
    expect(ok && secureBootRefusal(ok)).toBeUndefined();

    const stripped = scratch.path("grub-stripped.efi");
    await copyFile(SIGNED_GRUB, stripped);
    await chmod(stripped, 0o644);
    await sh("sbattach", ["--remove", stripped]);
    const bad = await fat("stripped", [
      { target: "EFI/BOOT/BOOTX64.EFI", file: SHIM },
      { target: "EFI/BOOT/grubx64.efi", file: stripped },
    ]);
    const report = (await checkEspSecureBoot({ runner, device: bad, kernels }))._unsafeUnwrap();
    expect(report?.bootable).toBe(false);
    const refused = report ? secureBootRefusal(report) : undefined;
    expect(refused?.code).toBe("SECURE_BOOT_UNBOOTABLE");
    expect(refused?.problems.map((p) => p.code)).toEqual(["SECURE_BOOT_GRUB_UNSIGNED"]);
    expect(refused?.problems[0]).toMatchObject({ path: `${bad}:/EFI/BOOT/grubx64.efi` });
    expect(refused?.message).toContain("--secure-boot-off");
  });

  it("does not check an ESP without EFI/BOOT/BOOTX64.EFI (null), nor a device that is no FAT", async () => {
    const empty = await fat("empty", [{ target: "EFI/debian/grubx64.efi", file: SIGNED_GRUB }]);
    const kernels = [{ role: "system", path: KERNEL }];
    expect((await checkEspSecureBoot({ runner, device: empty, kernels }))._unsafeUnwrap()).toBe(
      null,
    );
    expect(
      (await checkEspSecureBoot({ runner, device: KERNEL, kernels }))._unsafeUnwrap(),
    ).toBeNull();
  });

  it("is an error, not 'no loader', when the ESP cannot be read (no such device, no mtools)", async () => {
    const kernels = [{ role: "system", path: KERNEL }];
    const gone = await checkEspSecureBoot({ runner, device: "/nonexistent/esp.img", kernels });
    expect(gone._unsafeUnwrapErr()).toMatchObject({ code: "COMMAND_FAILED", command: "mcopy" });
    // A runner on which mcopy is not installed (PATH without mtools).
    const bare = createExecaRunner({ env: { PATH: "/nonexistent" } });
    const missing = await checkEspSecureBoot({ runner: bare, device: KERNEL, kernels });
    expect(missing._unsafeUnwrapErr()).toMatchObject({ code: "COMMAND_NOT_FOUND" });
  });
});
