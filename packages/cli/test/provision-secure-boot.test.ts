// `lifeboat provision`'s Secure Boot pre-flight on the Fedora-shaped fixture (Debian's signed
// shim, GRUB and kernel) through the built binary (issue #21): with GRUB's signature stripped
// on the disk's ESP, provision stops with SECURE_BOOT_UNBOOTABLE before anything is written
// (no .lifeboat in the Btrfs); with --secure-boot-off it warns and provisions; the signed
// chain passes with one line.
import { existsSync } from "node:fs";
import { chmod, copyFile } from "node:fs/promises";
import path from "node:path";
import {
  fedoraFixture,
  mountFixture,
  replaceEspFile,
  requireRoot,
  requireTools,
  Scratch,
  SIGNED_GRUB,
  sh,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliJsonFailure, ensureBuilt } from "./support.js";

let scratch: Scratch;

beforeAll(async () => {
  requireRoot();
  requireTools("sbverify", "sbattach", "mcopy");
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-provision-sb-");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("provision: Secure Boot pre-flight", () => {
  it("refuses an unsigned GRUB before writing anything; --secure-boot-off goes on; the signed chain passes", async () => {
    const fx = await fedoraFixture(scratch, { name: "provision-sb.img" });
    const stripped = scratch.path("grubx64-stripped.efi");
    await copyFile(SIGNED_GRUB, stripped);
    await chmod(stripped, 0o644);
    await sh("sbattach", ["--remove", stripped]);
    await replaceEspFile(fx.image, fx.esp.offsetBytes, "EFI/BOOT/grubx64.efi", stripped);
    const args = ["provision", "--disk", fx.image, "--product", "SB test", "--build", "sb-1"];
    const lifeboatDir = async () => {
      const m = await mountFixture(scratch, fx.image, fx);
      try {
        return existsSync(path.join(m.btrfsTop, ".lifeboat"));
      } finally {
        await m.release();
      }
    };

    const refused = cliJsonFailure([...args, "--no-recovery-env"]);
    expect(refused.code).toBe(4); // a precondition: nothing was changed
    expect(refused.doc.error.code).toBe("SECURE_BOOT_UNBOOTABLE");
    expect(refused.doc.error.message).toContain("--secure-boot-off");
    expect(JSON.stringify(refused.doc.error)).toContain("SECURE_BOOT_GRUB_UNSIGNED");
    expect(await lifeboatDir()).toBe(false);

    const off = cli([...args, "--no-recovery-env", "--secure-boot-off"]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).toMatch(
      /Secure Boot: this machine could not boot with Secure Boot on \(--secure-boot-off given, going on\): SECURE_BOOT_GRUB_UNSIGNED/,
    );
    expect(await lifeboatDir()).toBe(true);

    await replaceEspFile(fx.image, fx.esp.offsetBytes, "EFI/BOOT/grubx64.efi", SIGNED_GRUB);
    const signed = cli([...args, "--no-recovery-env"]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stderr).toMatch(/✓ Secure Boot: signed shim, signed GRUB, 1 signed kernel\(s\)/);
  }, 600_000);
});
