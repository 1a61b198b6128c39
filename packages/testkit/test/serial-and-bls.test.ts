import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { grubConfig, MARKER_SCRIPT } from "../src/_internal/fixture-files.js";
import { SerialText } from "../src/_internal/serial-text.js";
import {
  parseBlsEntry,
  qemuArgs,
  renderBlsEntry,
  renderBlsMenu,
  requireTools,
  sh,
} from "../src/index.js";

describe("SerialText", () => {
  it("drops colour codes and carriage returns, even when a sequence is split across chunks", () => {
    const s = new SerialText();
    const out = s.push("[  \x1b[0;32mOK\x1b[") + s.push("0m  ] Reached\r\n") + s.flush();
    expect(out).toBe("[  OK  ] Reached\n");
  });

  it("does not hold back text that follows a complete escape sequence (regression: GRUB's prompt)", () => {
    const s = new SerialText();
    expect(s.push("\x1b[=3h\x1b[0mgrub> ")).toBe("grub> ");
    expect(s.push("abc\x1b")).toBe("abc");
    expect(s.push("[1mdef")).toBe("def");
  });
});

describe("BLS entries as GRUB menu entries (blscfg stand-in)", () => {
  const text = [
    "title Fedora Linux (6.5.6-300.fc39.x86_64) 39",
    "version 6.5.6-300.fc39.x86_64",
    "linux /vmlinuz-6.5.6-300.fc39.x86_64",
    "initrd /initramfs-6.5.6-300.fc39.x86_64.img",
    "options root=UUID=abc ro rootflags=subvol=root rhgb quiet",
    "grub_users $grub_users",
    "",
  ].join("\n");

  it("parses and renders an entry back", () => {
    const e = parseBlsEntry("abc-6.5.6", text);
    expect(e).toMatchObject({
      title: "Fedora Linux (6.5.6-300.fc39.x86_64) 39",
      linux: "/vmlinuz-6.5.6-300.fc39.x86_64",
      initrd: ["/initramfs-6.5.6-300.fc39.x86_64.img"],
      options: "root=UUID=abc ro rootflags=subvol=root rhgb quiet",
    });
    expect(parseBlsEntry("abc-6.5.6", renderBlsEntry(e))).toEqual(e);
  });

  it("renders menus and the fixture's grub.cfg that grub-script-check accepts", async () => {
    requireTools("grub-script-check");
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-bls-"));
    try {
      const menu = renderBlsMenu(
        [parseBlsEntry("a", text), parseBlsEntry("b's", text.replaceAll("6.5.6", "6.6.1"))],
        "0b3c-uuid",
      );
      expect(menu.indexOf("6.6.1")).toBeLessThan(menu.indexOf("6.5.6")); // newest first
      for (const [name, body] of [
        ["bls.cfg", menu],
        ["grub.cfg", grubConfig({ espUuid: "AB-CD", bootUuid: "u", btrfsUuid: "r" }, 3)],
      ] as const) {
        await writeFile(path.join(dir, name), body);
        await sh("grub-script-check", [path.join(dir, name)]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("has a marker script that sh parses", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-marker-"));
    try {
      await writeFile(path.join(dir, "marker"), MARKER_SCRIPT);
      await sh("sh", ["-n", path.join(dir, "marker")]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("qemuArgs", () => {
  it("uses TCG, q35 with SMM, Secure Boot OVMF code (the default), a writable vars copy and virtio disks", () => {
    const args = qemuArgs({ disks: ["/x/disk.img"], timeoutMs: 1 }, "/tmp/vars.fd").join(" ");
    expect(args).toContain("-accel tcg -cpu max -machine q35,smm=on");
    expect(args).toContain("-global driver=cfi.pflash01,property=secure,value=on");
    expect(args).toContain(
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
    );
    expect(args).toContain("if=pflash,format=raw,unit=1,file=/tmp/vars.fd");
    expect(args).toContain("file=/x/disk.img,format=raw,if=none,id=disk0");
    expect(args).toContain("-device virtio-blk-pci,drive=disk0");
    expect(args).toContain("-no-reboot");
  });

  it("with secureBoot: false, the plain OVMF code and no SMM", () => {
    const args = qemuArgs(
      { disks: ["/x/disk.img"], timeoutMs: 1, secureBoot: false },
      "/tmp/vars.fd",
    ).join(" ");
    expect(args).toContain("-machine q35 ");
    expect(args).not.toContain("smm=on");
    expect(args).toContain(
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
    );
  });
});
