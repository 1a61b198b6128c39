// `lifeboat doctor --esp <dir> --kernel role=path`: the Secure Boot pre-flight
// check through the built binary, on Debian's real signed shim, GRUB and
// kernel, and on the same GRUB with its signature stripped (issue #21).
import { execFileSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctorDataSchema, jsonSuccessSchema } from "../src/json-schemas.js";
import { cli, cliJsonFailure, ensureBuilt } from "./support.js";

const SHIM = "/usr/lib/shim/shimx64.efi.signed";
const GRUB = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
const KERNEL = "/boot/vmlinuz-6.1.0-57-amd64";
let scratch: Scratch;

async function esp(name: string, grub: string): Promise<string> {
  const dir = scratch.path(name);
  await mkdir(path.join(dir, "EFI/BOOT"), { recursive: true });
  await copyFile(SHIM, path.join(dir, "EFI/BOOT/BOOTX64.EFI"));
  await copyFile(grub, path.join(dir, "EFI/BOOT/grubx64.efi"));
  return dir;
}

function doctorJson(args: readonly string[]) {
  const r = cli(["--json", "doctor", ...args]);
  const doc = jsonSuccessSchema(doctorDataSchema).parse(JSON.parse(r.stdout));
  return { code: r.code, data: doc.data, stderr: r.stderr };
}

beforeAll(async () => {
  requireTools("sbverify", "sbattach");
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-doctor-sb-");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("doctor --esp", () => {
  it("passes the signed chain and a signed kernel for both paths, in JSON and text", async () => {
    const dir = await esp("signed", GRUB);
    const kernels = ["--kernel", `system=${KERNEL}`, "--kernel", `recovery=${KERNEL}`];
    const { data } = doctorJson(["--esp", dir, ...kernels]);
    expect(data.secureBoot?.bootable).toBe(true);
    expect(data.secureBoot?.paths.map((p) => [p.role, p.bootable])).toEqual([
      ["system", true],
      ["recovery", true],
    ]);
    const text = cli(["doctor", "--esp", dir, ...kernels]);
    expect(text.stdout).toContain("every path can boot");
    expect(text.stdout).toMatch(
      /shim .*BOOTX64\.EFI: signed by .*Microsoft Corporation UEFI CA 2011/,
    );
    expect(text.stdout).toMatch(
      /recovery \(kernel .*signed by \/CN=Debian Secure Boot CA\): can boot/,
    );
  });

  it("names the stripped GRUB (SECURE_BOOT_GRUB_UNSIGNED) and exits 1", async () => {
    const stripped = scratch.path("grub-stripped.efi");
    await copyFile(GRUB, stripped);
    execFileSync("sbattach", ["--remove", stripped]);
    const dir = await esp("stripped", stripped);
    const { code, data } = doctorJson(["--esp", dir, "--kernel", `recovery=${KERNEL}`]);
    expect(code).toBe(1);
    expect(data.secureBoot?.bootable).toBe(false);
    expect(data.secureBoot?.paths[0]?.problems).toEqual([
      expect.objectContaining({
        code: "SECURE_BOOT_GRUB_UNSIGNED",
        path: path.join(dir, "EFI/BOOT/grubx64.efi"),
      }),
    ]);
    const text = cli(["doctor", "--esp", dir, "--kernel", `recovery=${KERNEL}`]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/SECURE_BOOT_GRUB_UNSIGNED .*is not signed: shim refuses it/);
  });

  it("without --esp: no Secure Boot section; --kernel alone is a usage error", () => {
    const { data } = doctorJson([]);
    expect(data.secureBoot).toBeNull();
    const f = cliJsonFailure(["doctor", "--kernel", KERNEL]);
    expect(f.code).toBe(2);
    expect(f.doc.error.code).toBe("CLI_USAGE");
  });
});
