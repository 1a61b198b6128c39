import { createExecaRunner } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import {
  checkGrubScript,
  factoryResetMenuEntry,
  quoteGrubWord,
  recoveryMenu,
  recoveryMenuEntry,
  recoverySearch,
  renderGrubdScript,
  renderGrubScript,
  renderGrubWord,
} from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";

describe("renderGrubScript", () => {
  it("renders the recovery and factory-reset entries in a submenu, accepted by grub-script-check", async () => {
    const text = renderGrubScript(
      recoveryMenu(
        [
          recoveryMenuEntry({
            partition: { fsUuid: "1111-2222", label: "LIFEBOAT" },
            source: { kind: "files", kernel: "/vmlinuz", initrd: "/initrd.img" },
            kernelArgs: ["quiet"],
            efi: true,
            unrestricted: true,
          }),
          factoryResetMenuEntry({
            kernel: "/vmlinuz-6.8.5",
            initrd: ["/initramfs-6.8.5.img"],
            kernelArgs: [
              "root=UUID=abcd",
              "rootflags=subvol=root",
              "ro",
              "systemd.factory_reset=1",
            ],
            bootFsUuid: "b00t",
            resetTarget: true,
          }),
        ],
        { hotkey: "F12" },
      ),
    )._unsafeUnwrap();
    expect(text).toMatchInlineSnapshot(`
      "submenu --class lifeboat --id lifeboat-recovery-menu --hotkey F12 -- 'Recovery options' {
        menuentry --class lifeboat --class recovery --id lifeboat-recovery --unrestricted -- Recovery {
          insmod part_gpt
          if ! search --no-floppy --fs-uuid --set=root 1111-2222; then
            search --no-floppy --label --set=root LIFEBOAT
          fi
          linuxefi /vmlinuz quiet
          initrdefi /initrd.img
        }
        menuentry --class lifeboat --class factory-reset --id lifeboat-factory-reset -- 'Reset to factory settings' {
          search --no-floppy --fs-uuid --set=root b00t
          linux /vmlinuz-6.8.5 root=UUID=abcd rootflags=subvol=root ro systemd.factory_reset=1 rd.systemd.unit=factory-reset.target
          initrd /initramfs-6.8.5.img
        }
      }
      "
    `);
    expect(await grubScriptCheck(text)).toEqual({ code: 0, stderr: "" });
  });

  it("renders an if whose condition spans lines (a quoted line break in a label)", async () => {
    const text = renderGrubScript([
      recoverySearch({ fsUuid: "1-2", label: "odd\n#label" }),
    ])._unsafeUnwrap();
    expect(await grubScriptCheck(text)).toEqual({ code: 0, stderr: "" });
  });

  it("quotes code-looking text as plain words", () => {
    expect(quoteGrubWord("a'b; echo $x").unwrapOr("")).toBe("'a'\\''b; echo $x'");
    expect(quoteGrubWord("if").unwrapOr("")).toBe("'if'");
    expect(quoteGrubWord("").unwrapOr("")).toBe("''");
    expect(quoteGrubWord("a\n#b").unwrapOr("")).toBe("'a\n''#b'");
    expect(renderGrubWord(["(", { variable: "root" }, ")/x y"]).unwrapOr("")).toBe(
      `'('"\${root}"')/x y'`,
    );
  });

  it("returns GRUB_UNREPRESENTABLE with the position, for NUL, CR, lone surrogates and bad names", () => {
    expect(quoteGrubWord("ab\0c")._unsafeUnwrapErr()).toMatchInlineSnapshot(`
      {
        "code": "GRUB_UNREPRESENTABLE",
        "index": 2,
        "message": "Cannot write "ab\\u0000c" for GRUB: it holds a NUL character at index 2.",
        "reason": "nul",
        "value": "ab\0c",
      }
    `);
    expect(quoteGrubWord("a\rb")._unsafeUnwrapErr()).toMatchObject({
      reason: "carriage-return",
      index: 1,
    });
    expect(quoteGrubWord("x\ud800")._unsafeUnwrapErr()).toMatchObject({
      reason: "lone-surrogate",
      index: 1,
    });
    expect(
      renderGrubScript([{ kind: "set", name: "a b", value: "x" }])._unsafeUnwrapErr(),
    ).toMatchObject({ code: "GRUB_UNREPRESENTABLE", reason: "invalid-name", index: 1 });
    expect(
      renderGrubScript([{ kind: "menuentry", title: "t\0", body: [] }])._unsafeUnwrapErr().reason,
    ).toBe("nul");
  });

  it("refuses a grub.d entry whose own text holds the UUID placeholder", () => {
    const r = renderGrubdScript({
      entries: ({ fsUuid }) => [
        recoveryMenuEntry({
          partition: { fsUuid },
          source: { kind: "files", kernel: "/v", initrd: "/i" },
          title: "@LIFEBOAT_FS_UUID@",
        }),
      ],
    });
    expect(r._unsafeUnwrapErr().code).toBe("GRUB_UNREPRESENTABLE");
  });

  it("checkGrubScript maps a grub-script-check failure to GRUB_SCRIPT_INVALID", async () => {
    const r = await checkGrubScript(createExecaRunner(), "menuentry 'x' {\n", { name: "t.cfg" });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "GRUB_SCRIPT_INVALID", path: "t.cfg" });
    expect((await checkGrubScript(createExecaRunner(), "echo hi\n")).isOk()).toBe(true);
  });
});
