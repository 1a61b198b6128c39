import { mkdir, readFile } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import { Scratch } from "@lifeboat/testkit";
import { describe, expect, it } from "vitest";
import {
  blsField,
  blsKernelArgs,
  createBlsEntry,
  factoryResetBlsEntry,
  parseBlsEntry,
  parseKernelCommandLine,
  renderBlsEntry,
  rootflagsSubvol,
  setBlsKernelArgs,
  setKernelArg,
  setRootflagsSubvol,
  writeBlsEntry,
} from "../src/index.js";

// As Fedora 40's kernel-install writes it.
const FEDORA = `title Fedora Linux (6.8.5-301.fc40.x86_64) 40 (Workstation Edition)
version 6.8.5-301.fc40.x86_64
linux /vmlinuz-6.8.5-301.fc40.x86_64
initrd /initramfs-6.8.5-301.fc40.x86_64.img
options root=UUID=7d3a6f51-2f5e-4f0e-9a8b-3c2d1e0f9a8b ro rootflags=subvol=root rhgb quiet
grub_users $grub_users
grub_arg --unrestricted
grub_class fedora
`;

describe("BLS entries", () => {
  it("parses, edits rootflags=subvol= and renders back, keeping everything else", () => {
    const entry = parseBlsEntry(FEDORA)._unsafeUnwrap();
    expect(renderBlsEntry(entry)._unsafeUnwrap()).toBe(FEDORA);
    expect(blsField(entry, "linux")).toBe("/vmlinuz-6.8.5-301.fc40.x86_64");
    expect(rootflagsSubvol(blsKernelArgs(entry))).toBe("root");
    const moved = setBlsKernelArgs(
      entry,
      setRootflagsSubvol(blsKernelArgs(entry), "root.new"),
    )._unsafeUnwrap();
    expect(renderBlsEntry(moved)._unsafeUnwrap()).toBe(
      FEDORA.replace("rootflags=subvol=root ", "rootflags=subvol=root.new "),
    );
  });

  it("drops subvolid= (it would win over subvol=) and keeps other flags", () => {
    expect(setRootflagsSubvol(["ro", "rootflags=subvolid=256,compress=zstd:1"], "root")).toEqual([
      "ro",
      "rootflags=compress=zstd:1,subvol=root",
    ]);
    expect(setRootflagsSubvol(["ro"], "root")).toEqual(["ro", "rootflags=subvol=root"]);
    expect(setKernelArg(["a=1", "b", "a=2"], "a", "3")).toEqual(["a=3", "b"]);
    expect(parseKernelCommandLine('x="a b" y')).toEqual(['x="a b"', "y"]);
  });

  it("makes a factory-reset entry from the system's entry", () => {
    const reset = factoryResetBlsEntry(parseBlsEntry(FEDORA)._unsafeUnwrap(), {
      resetTarget: true,
    })._unsafeUnwrap();
    expect(blsField(reset, "title")).toBe("Reset to factory settings");
    expect(blsField(reset, "id")).toBe("lifeboat-factory-reset");
    expect(blsKernelArgs(reset).slice(-2)).toEqual([
      "systemd.factory_reset=1",
      "rd.systemd.unit=factory-reset.target",
    ]);
  });

  it("refuses values that cannot be one line, and malformed lines, with typed errors", () => {
    expect(
      createBlsEntry({ title: "t", linux: "/v", options: ["a\nb"] })._unsafeUnwrapErr(),
    ).toMatchObject({
      code: "GRUB_BAD_KERNEL_ARGS",
      reason: "control-character",
    });
    expect(parseBlsEntry("title ok\n=bad\n")._unsafeUnwrapErr()).toMatchObject({
      code: "GRUB_BLS_INVALID",
      line: 2,
    });
  });

  it("writes a snippet atomically after checking it, idempotently", async () => {
    const scratch = await Scratch.create("lifeboat-bls-");
    try {
      await mkdir(scratch.path("entries"));
      const file = scratch.path("entries", "lifeboat-factory-reset.conf");
      const entry = factoryResetBlsEntry(parseBlsEntry(FEDORA)._unsafeUnwrap())._unsafeUnwrap();
      const runner = createExecaRunner();
      expect((await writeBlsEntry(runner, file, entry))._unsafeUnwrap().changed).toBe(true);
      expect((await writeBlsEntry(runner, file, entry))._unsafeUnwrap().changed).toBe(false);
      expect(await readFile(file, "utf8")).toBe(renderBlsEntry(entry)._unsafeUnwrap());
    } finally {
      await scratch.cleanup();
    }
  });
});
