import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CUSTOM_CFG_BEGIN,
  CUSTOM_CFG_END,
  lifeboatMenuEntries,
  parseKernelArgsOption,
  readNewestBlsEntry,
  renderGrubScript,
  renderLifeboatCustomCfg,
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

  it("renders them on both entries, and grub-script-check accepts the output", async () => {
    const args = parseKernelArgsOption(
      'console=ttyS0,115200 lifeboat.lang=de_DE x="a b"',
    )._unsafeUnwrap();
    const s = renderLifeboatGrubdScript({
      recoveryKernelArgs: args,
      recoveryLabel: "LIFEBOAT",
    })._unsafeUnwrap();
    expect(s.sampleOutput).toContain(
      // The kernel's quotes are GRUB's to write: it quotes an argument with a space itself.
      "linux /environment/vmlinuz console=ttyS0,115200 lifeboat.lang=de_DE 'x=a b'\n",
    );
    expect(s.sampleOutput).toContain(
      "linux /environment/vmlinuz console=ttyS0,115200 lifeboat.lang=de_DE 'x=a b' lifeboat.mode=factory-reset\n",
    );
    expect(await grubScriptCheck(s.sampleOutput)).toEqual({ code: 0, stderr: "" });
  });
});

describe('"Reset to factory settings" boots the recovery environment, not the system (issue #16)', () => {
  it("both entries boot /environment/vmlinuz from the recovery partition; the second with lifeboat.mode=factory-reset", () => {
    const text = renderGrubScript(
      lifeboatMenuEntries(
        { fsUuid: "1111-2222" },
        { recoveryLabel: "LIFEBOAT", recoveryKernelArgs: ["lifeboat.mode=unattended", "quiet"] },
      ),
    )._unsafeUnwrap();
    expect(text).toMatchInlineSnapshot(`
      "submenu --class lifeboat --id lifeboat-recovery-menu -- 'Recovery options' {
        menuentry --class lifeboat --class recovery --id lifeboat-recovery -- Recovery {
          insmod part_gpt
          if ! search --no-floppy --fs-uuid --set=root 1111-2222; then
            search --no-floppy --label --set=root LIFEBOAT
          fi
          linux /environment/vmlinuz quiet
          initrd /environment/initrd.img
        }
        menuentry --class lifeboat --class recovery --id lifeboat-factory-reset -- 'Reset to factory settings' {
          insmod part_gpt
          if ! search --no-floppy --fs-uuid --set=root 1111-2222; then
            search --no-floppy --label --set=root LIFEBOAT
          fi
          linux /environment/vmlinuz quiet lifeboat.mode=factory-reset
          initrd /environment/initrd.img
        }
      }
      # A reset scheduled to run unattended in the recovery environment (once).
      if ! search --no-floppy --fs-uuid --set=lifeboat_recovery 1111-2222; then
        search --no-floppy --label --set=lifeboat_recovery LIFEBOAT
      fi
      if [ -f '('"\${lifeboat_recovery}"')/schedule/next-boot.cfg' ']'; then
        source '('"\${lifeboat_recovery}"')/schedule/next-boot.cfg'
        menuentry --class lifeboat --class recovery --id lifeboat-scheduled-reset -- 'Scheduled reset (Lifeboat)' {
          insmod part_gpt
          if ! search --no-floppy --fs-uuid --set=root 1111-2222; then
            search --no-floppy --label --set=root LIFEBOAT
          fi
          linux /environment/vmlinuz quiet lifeboat.mode=unattended lifeboat.request=/schedule/request.json 'lifeboat.digest='"\${lifeboat_scheduled_digest}"
          initrd /environment/initrd.img
        }
        set default=lifeboat-scheduled-reset
      fi
      "
    `);
    expect(text).not.toContain("systemd.factory_reset");
  });
});

describe("custom.cfg: Lifeboat's block for hand-written GRUB configs (issue #16)", () => {
  const uuid = { fsUuid: "5b3e0c1a-0000-4000-8000-000000000001" };
  const user = "# my own entries\nmenuentry 'Memtest' {\n  linux16 /memtest\n}\n";

  it("appended after what is there, kept as it is; running again gives the same text", async () => {
    const once = renderLifeboatCustomCfg(user, uuid)._unsafeUnwrap();
    expect(once.startsWith(user)).toBe(true);
    expect(once).toContain(`${CUSTOM_CFG_BEGIN}\nsubmenu`);
    expect(once.endsWith(`${CUSTOM_CFG_END}\n`)).toBe(true);
    expect(once).toContain("linux /environment/vmlinuz lifeboat.mode=factory-reset");
    expect(renderLifeboatCustomCfg(once, uuid)._unsafeUnwrap()).toBe(once);
    expect(await grubScriptCheck(once)).toEqual({ code: 0, stderr: "" });
    // A file without one: just the block; no final newline: one is added first.
    expect(
      renderLifeboatCustomCfg(undefined, uuid)._unsafeUnwrap().startsWith(CUSTOM_CFG_BEGIN),
    ).toBe(true);
    expect(renderLifeboatCustomCfg("set timeout=5", uuid)._unsafeUnwrap()).toMatch(
      new RegExp(`^set timeout=5\\n${CUSTOM_CFG_BEGIN.replace(/[()]/g, "\\$&")}\\n`),
    );
  });

  it("a block already there is replaced in place (new UUID, new arguments); text before and after is kept", async () => {
    const old = renderLifeboatCustomCfg(user, uuid)._unsafeUnwrap();
    const withTail = `${old}set timeout=3\n`;
    const next = renderLifeboatCustomCfg(
      withTail,
      { fsUuid: "99999999-0000-4000-8000-000000000002" },
      { recoveryKernelArgs: ["console=ttyS0,115200"] },
    )._unsafeUnwrap();
    expect(next.startsWith(user)).toBe(true);
    expect(next.endsWith(`${CUSTOM_CFG_END}\nset timeout=3\n`)).toBe(true);
    expect(next).not.toContain(uuid.fsUuid);
    expect(next.split(CUSTOM_CFG_BEGIN).length).toBe(2);
    expect(next).toContain(
      "linux /environment/vmlinuz console=ttyS0,115200 lifeboat.mode=factory-reset",
    );
    expect(await grubScriptCheck(next)).toEqual({ code: 0, stderr: "" });
  });

  it("a begin line without its end line is GRUB_SCRIPT_INVALID naming the line; nothing guessed", () => {
    const broken = `${user}${CUSTOM_CFG_BEGIN}\nsubmenu 'x' {\n`;
    expect(renderLifeboatCustomCfg(broken, uuid)._unsafeUnwrapErr()).toMatchObject({
      code: "GRUB_SCRIPT_INVALID",
      line: 5,
    });
  });
});
