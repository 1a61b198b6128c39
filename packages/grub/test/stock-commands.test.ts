import { requireTools } from "@lifeboat/testkit";
import { describe, expect, it } from "vitest";
import {
  factoryResetMenuEntry,
  type GrubCommand,
  lifeboatMenuEntries,
  recoveryMenu,
  recoveryMenuEntry,
  recoverySearch,
  renderGrubScript,
  renderLifeboatCustomCfg,
} from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";
import { runGrubEmu } from "./_support/grub-emu.js";

// GRUB's core commands (kern/corecmd.c) and the block keywords, plus the
// commands an entry cannot boot without (search, linux, initrd, loopback).
const STOCK = new Set([
  "menuentry",
  "submenu",
  "if",
  "then",
  "else",
  "fi",
  "!",
  "}",
  "set",
  "unset",
  "insmod",
  "search",
  "linux",
  "initrd",
  "linuxefi",
  "initrdefi",
  "loopback",
  // What reads custom.cfg in the first place (grub-mkconfig's 41_custom, hand-written
  // configs): a GRUB that reaches Lifeboat's block has them; the scheduled reset needs them.
  "[",
  "source",
]);

function commandWords(script: string): string[] {
  return script
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .flatMap((l) => {
      const words = l.split(/\s+/);
      const first = words[0] ?? "";
      return first === "if" ? [first, words[1] ?? ""] : [first];
    });
}

const entries = (): GrubCommand[] =>
  recoveryMenu([
    recoveryMenuEntry({
      partition: { fsUuid: "1111-2222", label: "LIFEBOAT" },
      source: { kind: "files", kernel: "/current/vmlinuz", initrd: "/current/initrd.img" },
    }),
    recoveryMenuEntry({
      partition: { fsUuid: "1111-2222", label: "LIFEBOAT" },
      source: { kind: "squashfs", image: "/LiveOS/squashfs.img", kernel: "/v", initrd: "/i" },
      id: "live",
    }),
    factoryResetMenuEntry({
      kernel: "/vmlinuz-6.8",
      initrd: ["/initramfs-6.8.img"],
      kernelArgs: ["ro"],
    }),
  ]);

describe("rendered entries use only commands every stock GRUB image has (issue #16: can't find command `true`)", () => {
  it("the recovery submenu, an empty branch and an empty entry render no `true`, and pass grub-script-check", async () => {
    const scripts = [
      renderGrubScript(entries())._unsafeUnwrap(),
      renderGrubScript([
        { kind: "if", condition: { kind: "insmod", module: "part_gpt" }, body: [] },
        {
          kind: "if",
          condition: { kind: "insmod", module: "part_gpt" },
          body: [{ kind: "set", name: "a", value: "1" }],
          elseBody: [],
        },
        { kind: "menuentry", title: "empty", body: [] },
      ])._unsafeUnwrap(),
      renderGrubScript(
        lifeboatMenuEntries({ fsUuid: "1111-2222" }, { recoveryLabel: "LIFEBOAT" }),
      )._unsafeUnwrap(),
      renderLifeboatCustomCfg(undefined, { fsUuid: "1111-2222" })._unsafeUnwrap(),
    ];
    for (const script of scripts) {
      expect(script).not.toMatch(/\btrue\b/);
      expect(commandWords(script).filter((w) => !STOCK.has(w))).toEqual([]);
      expect(await grubScriptCheck(script)).toEqual({ code: 0, stderr: "" });
    }
  });

  it("the label fallback still runs in real GRUB when no filesystem has the UUID (grub-emu)", async () => {
    requireTools("grub-emu");
    const search = renderGrubScript([
      recoverySearch({ fsUuid: "0000-no-such-uuid", label: "NO_SUCH_LABEL" }),
    ])._unsafeUnwrap();
    const out = (await runGrubEmu(search)).toString("latin1");
    expect(out).toContain("no such device: 0000-no-such-uuid");
    expect(out).toContain("no such device: NO_SUCH_LABEL");
    expect(out).not.toContain("can't find command");
  });
});
