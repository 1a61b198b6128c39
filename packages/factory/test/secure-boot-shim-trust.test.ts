// checkSecureBoot matches GRUB's signer against the certificate built into the shim (issue #21):
// Debian's GRUB verifies against Debian's shim ("CN = Debian Secure Boot CA"); the same GRUB
// re-signed with another key (sbsign, a throwaway certificate) is SECURE_BOOT_GRUB_NOT_TRUSTED.
import { chmod, copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checkSecureBoot } from "../src/index.js";

const runner = createExecaRunner();
const SHIM = "/usr/lib/shim/shimx64.efi.signed";
const SIGNED_GRUB = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
const KERNEL = "/boot/vmlinuz-6.1.0-57-amd64";
let scratch: Scratch;

beforeAll(async () => {
  requireTools("sbverify", "sbattach", "sbsign", "objcopy", "openssl");
  scratch = await Scratch.create("lifeboat-shim-trust-");
});
afterAll(async () => {
  await scratch?.cleanup();
});

async function esp(name: string, grub: string): Promise<string> {
  const dir = scratch.path(name);
  await mkdir(path.join(dir, "EFI/BOOT"), { recursive: true });
  await copyFile(SHIM, path.join(dir, "EFI/BOOT/BOOTX64.EFI"));
  await copyFile(grub, path.join(dir, "EFI/BOOT/grubx64.efi"));
  return dir;
}

it("trusts the GRUB signed by the shim's own certificate and names one signed by another key", async () => {
  const kernels = [{ role: "system", path: KERNEL }];
  const good = (
    await checkSecureBoot({ runner, esp: await esp("debian", SIGNED_GRUB), kernels })
  )._unsafeUnwrap();
  expect(good.shimTrust).toEqual({ shimCertificate: "CN = Debian Secure Boot CA", trusted: true });
  expect(good.bootable).toBe(true);

  const unsigned = scratch.path("grub-unsigned.efi");
  await copyFile(SIGNED_GRUB, unsigned);
  await chmod(unsigned, 0o644);
  await sh("sbattach", ["--remove", unsigned]);
  const key = scratch.path("other.key");
  const cert = scratch.path("other.pem");
  await sh("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=Someone Else",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  const other = scratch.path("grub-other.efi");
  await sh("sbsign", ["--key", key, "--cert", cert, "--output", other, unsigned]);
  const bad = (
    await checkSecureBoot({ runner, esp: await esp("other", other), kernels })
  )._unsafeUnwrap();
  expect(bad.shimTrust).toEqual({ shimCertificate: "CN = Debian Secure Boot CA", trusted: false });
  expect(bad.bootable).toBe(false);
  expect(bad.paths[0]?.problems).toEqual([
    expect.objectContaining({
      code: "SECURE_BOOT_GRUB_NOT_TRUSTED",
      shimCertificate: "CN = Debian Secure Boot CA",
      path: path.join(scratch.path("other"), "EFI/BOOT/grubx64.efi"),
    }),
  ]);
});
