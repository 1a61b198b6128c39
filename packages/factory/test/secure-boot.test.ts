// The Secure Boot pre-flight check on real binaries: Debian's signed shim, GRUB
// and kernel pass; the same GRUB with its signature stripped, a self-built
// grub-mkstandalone image and an unsigned kernel are named (issue #21).
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSecureBoot, type SecureBootReport } from "../src/index.js";
import { parseSbverifyList } from "../src/secure-boot.js";

const runner = createExecaRunner();
const SHIM = "/usr/lib/shim/shimx64.efi.signed";
const SIGNED_GRUB = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
const KERNEL = "/boot/vmlinuz-6.1.0-57-amd64";
let scratch: Scratch;

async function esp(name: string, shim: string, grub: string | undefined): Promise<string> {
  const dir = scratch.path(name);
  await mkdir(path.join(dir, "EFI/BOOT"), { recursive: true });
  await copyFile(shim, path.join(dir, "EFI/BOOT/BOOTX64.EFI"));
  if (grub) await copyFile(grub, path.join(dir, "EFI/BOOT/grubx64.efi"));
  return dir;
}

async function run(
  name: string,
  espDir: string,
  kernels = [{ role: "system", path: KERNEL }],
): Promise<SecureBootReport> {
  const r = await checkSecureBoot({ runner, esp: espDir, kernels });
  if (r.isErr()) throw new Error(`${name}: ${r.error.message}`);
  return r.value;
}

const codes = (report: SecureBootReport, role = "system") =>
  report.paths.find((p) => p.role === role)?.problems.map((p) => p.code);

beforeAll(async () => {
  requireTools("sbverify", "sbattach", "grub-mkstandalone");
  scratch = await Scratch.create("lifeboat-secure-boot-");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("checkSecureBoot", () => {
  it("passes Debian's signed shim, signed GRUB and signed kernel, and names the signers", async () => {
    const report = await run("signed", await esp("signed", SHIM, SIGNED_GRUB), [
      { role: "system", path: KERNEL },
      { role: "recovery", path: KERNEL },
    ]);
    expect(report.bootable).toBe(true);
    expect(report.paths.map((p) => [p.role, p.bootable, p.problems])).toEqual([
      ["system", true, []],
      ["recovery", true, []],
    ]);
    expect(report.shim.signatures.flatMap((s) => s.issuers)).toContain(
      "/C=US/ST=Washington/L=Redmond/O=Microsoft Corporation/CN=Microsoft Corporation UEFI CA 2011",
    );
    expect(report.grub.signatures[0]?.certificates[0]?.subject).toBe(
      "/CN=Debian Secure Boot Signer 2022 - grub2",
    );
    expect(report.paths[0]?.kernel.signatures[0]?.issuers).toEqual(["/CN=Debian Secure Boot CA"]);
  });

  it("names the same GRUB with its signature stripped (sbattach --remove)", async () => {
    const stripped = scratch.path("grub-stripped.efi");
    await copyFile(SIGNED_GRUB, stripped);
    const r = await runner.run("sbattach", ["--remove", stripped]);
    expect(r.isOk()).toBe(true);
    const report = await run("stripped", await esp("stripped", SHIM, stripped), [
      { role: "system", path: KERNEL },
      { role: "recovery", path: KERNEL },
    ]);
    expect(report.bootable).toBe(false);
    expect(codes(report, "system")).toEqual(["SECURE_BOOT_GRUB_UNSIGNED"]);
    expect(codes(report, "recovery")).toEqual(["SECURE_BOOT_GRUB_UNSIGNED"]);
    expect(report.paths[0]?.problems[0]).toMatchObject({
      path: path.join(scratch.path("stripped"), "EFI/BOOT/grubx64.efi"),
    });
  });

  it("names a self-built grub-mkstandalone image, and an unsigned shim as BOOTX64.EFI", async () => {
    const cfg = scratch.path("standalone.cfg");
    await writeFile(cfg, "echo hello\n");
    const image = scratch.path("standalone.efi");
    const r = await runner.run("grub-mkstandalone", [
      "-O",
      "x86_64-efi",
      "-o",
      image,
      "--locales=",
      "--fonts=",
      "--themes=",
      "--modules=part_gpt fat echo",
      `boot/grub/grub.cfg=${cfg}`,
    ]);
    expect(r.isOk()).toBe(true);
    // The self-built GRUB behind the signed shim: shim would refuse it.
    const behindShim = await run("behind-shim", await esp("behind-shim", SHIM, image));
    expect(codes(behindShim)).toEqual(["SECURE_BOOT_GRUB_UNSIGNED"]);
    // The self-built GRUB as the firmware's loader (what a self-built stick does).
    const alone = await run("alone", await esp("alone", image, image));
    expect(codes(alone)).toEqual([
      "SECURE_BOOT_SHIM_NOT_MICROSOFT_SIGNED",
      "SECURE_BOOT_GRUB_UNSIGNED",
    ]);
    expect(alone.paths[0]?.problems[0]).toMatchObject({ issuers: [] });
    // GRUB (Debian-signed, not Microsoft-signed) as the loader.
    const grubAsLoader = await run(
      "grub-loader",
      await esp("grub-loader", SIGNED_GRUB, SIGNED_GRUB),
    );
    expect(grubAsLoader.paths[0]?.problems[0]).toMatchObject({
      code: "SECURE_BOOT_SHIM_NOT_MICROSOFT_SIGNED",
      issuers: ["/CN=Debian Secure Boot CA"],
    });
  });

  it("names an unsigned or missing kernel per boot path, and a missing GRUB", async () => {
    const unsigned = scratch.path("vmlinuz-unsigned");
    await copyFile(KERNEL, unsigned);
    expect((await runner.run("sbattach", ["--remove", unsigned])).isOk()).toBe(true);
    const report = await run("kernels", await esp("kernels", SHIM, SIGNED_GRUB), [
      { role: "system", path: KERNEL },
      { role: "recovery", path: unsigned },
      { role: "other", path: scratch.path("nope") },
    ]);
    expect(report.bootable).toBe(false);
    expect(report.paths.map((p) => [p.role, p.bootable])).toEqual([
      ["system", true],
      ["recovery", false],
      ["other", false],
    ]);
    expect(report.paths[1]?.problems).toEqual([
      expect.objectContaining({
        code: "SECURE_BOOT_KERNEL_UNSIGNED",
        path: unsigned,
        role: "recovery",
      }),
    ]);
    expect(codes(report, "other")).toEqual(["SECURE_BOOT_KERNEL_MISSING"]);
    const noGrub = await run("no-grub", await esp("no-grub", SHIM, undefined));
    expect(codes(noGrub)).toEqual(["SECURE_BOOT_GRUB_MISSING"]);
    const empty = scratch.path("empty");
    await mkdir(empty);
    expect(codes(await run("empty", empty))).toEqual([
      "SECURE_BOOT_SHIM_MISSING",
      "SECURE_BOOT_GRUB_MISSING",
    ]);
  });
});

describe("checkSecureBoot arguments", () => {
  it("refuses a loader path outside the ESP (INVALID_ARGUMENT)", async () => {
    const r = await checkSecureBoot({
      runner,
      esp: scratch.path("empty-esp"),
      loader: "../outside.efi",
      kernels: [],
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "INVALID_ARGUMENT", argument: "loader" });
  });
});

describe("parseSbverifyList", () => {
  it("reads two signatures with their certificates, and nothing as no signature", () => {
    const out = [
      "signature 1",
      "image signature issuers:",
      " - /CN=A CA",
      "image signature certificates:",
      " - subject: /CN=A signer",
      "   issuer:  /CN=A CA",
      "signature 2",
      "image signature issuers:",
      " - /CN=B CA",
      "image signature certificates:",
      "",
    ].join("\n");
    expect(parseSbverifyList(out)._unsafeUnwrap()).toEqual([
      { issuers: ["/CN=A CA"], certificates: [{ subject: "/CN=A signer", issuer: "/CN=A CA" }] },
      { issuers: ["/CN=B CA"], certificates: [] },
    ]);
    expect(parseSbverifyList("")._unsafeUnwrap()).toEqual([]);
  });

  it("refuses output it does not understand", () => {
    const r = parseSbverifyList("signature 1\nsomething else\n");
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "PARSE_FAILED", source: "sbverify --list" });
  });
});
