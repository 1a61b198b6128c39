import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  parseKernelArgsOption,
  readNewestBlsEntry,
  renderLifeboatGrubdScript,
} from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";

describe("readNewestBlsEntry: a typed error for a /boot without entries (issue #16: no raw ENOENT)", () => {
  let boot: string;
  beforeEach(async () => {
    boot = await mkdtemp(path.join(tmpdir(), "lifeboat-boot-"));
  });
  afterEach(async () => {
    await rm(boot, { recursive: true, force: true });
  });

  it("no loader/entries: GRUB_NO_BLS_ENTRY, reason missing", async () => {
    expect((await readNewestBlsEntry(boot))._unsafeUnwrapErr()).toMatchInlineSnapshot(`
      {
        "code": "GRUB_NO_BLS_ENTRY",
        "directory": "loader/entries",
        "message": "/boot has no loader/entries directory (no Boot Loader Specification entries).",
        "reason": "missing",
      }
    `);
  });

  it("an empty loader/entries: GRUB_NO_BLS_ENTRY, reason empty", async () => {
    await mkdir(path.join(boot, "loader/entries"), { recursive: true });
    await writeFile(path.join(boot, "loader/entries/README"), "not an entry\n");
    expect((await readNewestBlsEntry(boot))._unsafeUnwrapErr()).toMatchObject({
      code: "GRUB_NO_BLS_ENTRY",
      reason: "empty",
    });
  });

  it("takes the newest entry by name, named relative to /boot", async () => {
    await mkdir(path.join(boot, "loader/entries"), { recursive: true });
    await writeFile(path.join(boot, "loader/entries/a-6.7.conf"), "linux /vmlinuz-6.7\n");
    await writeFile(
      path.join(boot, "loader/entries/a-6.8.conf"),
      "linux /vmlinuz-6.8\ninitrd /initramfs-6.8.img\noptions root=UUID=1 ro\n",
    );
    expect((await readNewestBlsEntry(boot))._unsafeUnwrap()).toEqual({
      file: "loader/entries/a-6.8.conf",
      kernel: "/vmlinuz-6.8",
      initrd: ["/initramfs-6.8.img"],
      args: ["root=UUID=1", "ro"],
    });
  });
});

describe("recovery entry kernel arguments (issue #16)", () => {
  it("parseKernelArgsOption splits on spaces, keeps a quoted part whole, rejects control characters", () => {
    expect(
      parseKernelArgsOption("  console=ttyS0,115200  lifeboat.lang=de_DE ")._unsafeUnwrap(),
    ).toEqual(["console=ttyS0,115200", "lifeboat.lang=de_DE"]);
    expect(parseKernelArgsOption('a="b c" d')._unsafeUnwrap()).toEqual(['a="b c"', "d"]);
    expect(parseKernelArgsOption("")._unsafeUnwrap()).toEqual([]);
    expect(parseKernelArgsOption("quiet\nsingle")._unsafeUnwrapErr()).toMatchObject({
      code: "GRUB_BAD_KERNEL_ARGS",
      reason: "control-character",
      index: 5,
    });
    for (const bad of ["a\tb", "a\rb", "a\x00b", "a\x1bb", "a\x7fb"])
      expect(parseKernelArgsOption(bad)._unsafeUnwrapErr().index).toBe(1);
    expect(parseKernelArgsOption('a="b')._unsafeUnwrapErr().reason).toBe("unbalanced-quote");
  });

  it("renders them on the recovery entry only, and grub-script-check accepts the output", async () => {
    const args = parseKernelArgsOption(
      'console=ttyS0,115200 lifeboat.lang=de_DE x="a b"',
    )._unsafeUnwrap();
    const s = renderLifeboatGrubdScript(
      { kernel: "/vmlinuz-6.8", initrd: ["/initramfs-6.8.img"], args: ["root=UUID=1", "ro"] },
      { recoveryKernelArgs: args, recoveryLabel: "LIFEBOAT" },
    )._unsafeUnwrap();
    expect(s.sampleOutput).toContain(
      // The kernel's quotes are GRUB's to write: it quotes an argument with a space itself.
      "linux /environment/vmlinuz console=ttyS0,115200 lifeboat.lang=de_DE 'x=a b'",
    );
    expect(s.sampleOutput).toContain("linux /vmlinuz-6.8 root=UUID=1 ro systemd.factory_reset=1\n");
    expect(await grubScriptCheck(s.sampleOutput)).toEqual({ code: 0, stderr: "" });
  });
});
