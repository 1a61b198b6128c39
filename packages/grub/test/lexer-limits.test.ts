/**
 * Issue #19: strings GRUB's lexer cannot read, and kernel arguments the
 * kernel would split, are refused at render time with a typed error, never
 * rendered into a config that GRUB then drops whole.
 */
import { createExecaRunner } from "@lifeboat/core";
import { requireTools } from "@lifeboat/testkit";
import { describe, expect, it } from "vitest";
import {
  checkGrubScript,
  checkKernelArg,
  createBlsEntry,
  GRUB_TOKEN_MAX_BYTES,
  type GrubCommand,
  parseKernelArgsOption,
  quoteGrubWord,
  recoveryMenu,
  recoveryMenuEntry,
  renderGrubdScript,
  renderGrubScript,
  renderKernelCommandLine,
} from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";
import { runGrubEmu } from "./_support/grub-emu.js";

const bytes = (s: string) => Buffer.byteLength(s);

describe("GRUB's lexer limit: one word of at most 8191 bytes", () => {
  it("refuses the 2,800-character CJK title (8,400 bytes) as GRUB_UNREPRESENTABLE too-long", () => {
    const title = "恢".repeat(2800);
    const entry: GrubCommand = {
      kind: "menuentry",
      title,
      body: [{ kind: "command", name: "halt", args: [] }],
    };
    const r = renderGrubScript([entry]);
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "GRUB_UNREPRESENTABLE",
      reason: "too-long",
      value: title,
    });
    expect(r._unsafeUnwrapErr().message).toContain("8400 bytes");
    // Through the grub.d script too: nothing is rendered.
    const grubd = renderGrubdScript({
      entries: ({ fsUuid }) =>
        recoveryMenu([
          recoveryMenuEntry({
            partition: { fsUuid },
            source: { kind: "files", kernel: "/vmlinuz", initrd: "/initrd.img" },
            title,
          }),
        ]),
    });
    expect(grubd._unsafeUnwrapErr().code).toBe("GRUB_UNREPRESENTABLE");
  });

  it("accepts exactly what grub-script-check reads: words around the limit, with quotes, line breaks and variables", async () => {
    requireTools("grub-script-check");
    const cases: GrubCommand["kind"][] = [];
    const probes: { word: string | (string | { variable: string })[] }[] = [];
    for (const delta of [-1, 0, 1, 2]) {
      const n = GRUB_TOKEN_MAX_BYTES + delta;
      probes.push({ word: "a".repeat(n) }); // bare: n bytes
      probes.push({ word: `${"a".repeat(n - 3)} ` }); // quoted: n bytes
      probes.push({ word: `${"a".repeat(4000)}'${"b".repeat(n - 4000 - 6)}` }); // '…'\''…'
      probes.push({ word: `${"a".repeat(4000)}\n#${"b".repeat(n - 4000 - 6)}` }); // '…\n''#…'
      probes.push({ word: ["(", { variable: "root" }, `)${"c".repeat(n - 15)}`] });
      probes.push({ word: `${"é".repeat((n - 3) >> 1)}${(n - 3) % 2 ? "x" : ""} ` });
    }
    for (const { word } of probes) {
      const script = renderGrubScript([{ kind: "command", name: "echo", args: [word] }]);
      // The same word as the renderer writes it, without the limit check.
      const raw =
        typeof word === "string"
          ? quoteGrubWord(word)._unsafeUnwrap()
          : `'('"\${root}"'${String(word[2])}'`;
      const check = await grubScriptCheck(`echo ${raw}\n`);
      expect(script.isOk(), `${bytes(raw)} bytes`).toBe(check.code === 0);
      expect(script.isOk()).toBe(bytes(raw) <= GRUB_TOKEN_MAX_BYTES);
      cases.push("command");
    }
    expect(cases.length).toBe(24);
  }, 60_000);

  it("a comment line grub-script-check cannot read is refused too", async () => {
    requireTools("grub-script-check");
    for (const n of [8187, 8188]) {
      const text = "x".repeat(n);
      const r = renderGrubScript([
        { kind: "command", name: "echo", args: ["x"] },
        { kind: "comment", text },
      ]);
      const check = await grubScriptCheck(`echo x\n# ${text}\n`);
      expect(r.isOk(), String(n)).toBe(check.code === 0);
    }
  });

  it("grub-emu runs a config whose title is exactly at the limit, and every entry after it", async () => {
    requireTools("grub-emu", "grub-script-check");
    const title = `${"€".repeat(2729)}ab`; // 8187 bytes + quotes + nothing else = 8189 ≤ 8191
    const script = renderGrubScript([
      { kind: "menuentry", title, body: [{ kind: "command", name: "halt", args: [] }] },
      { kind: "command", name: "echo", args: ["<<after-the-long-title>>"] },
    ])._unsafeUnwrap();
    expect(await grubScriptCheck(script)).toEqual({ code: 0, stderr: "" });
    const out = (await runGrubEmu(script)).toString("utf8");
    expect(out).toContain("<<after-the-long-title>>");
    expect(out).not.toContain("YYLMAX");
  }, 60_000);

  it("checkGrubScript says why, also when grub-script-check prints its reason on stdout (not just 'exit 1')", async () => {
    requireTools("grub-script-check");
    const runner = createExecaRunner();
    const long = await checkGrubScript(runner, `echo ${"a".repeat(9000)}\n`, { name: "t.cfg" });
    expect(long._unsafeUnwrapErr()).toMatchObject({ code: "GRUB_SCRIPT_INVALID", path: "t.cfg" });
    expect(long._unsafeUnwrapErr().message).toContain("token too large");
    const open = await checkGrubScript(runner, "echo hi\nif true; then\n");
    expect(open._unsafeUnwrapErr()).toMatchObject({
      message: "grub-script-check rejected the script: Syntax error at line 2",
      line: 2,
    });
  });
});

describe("a kernel argument with a tab, line break or other control character is refused everywhere", () => {
  // Each value with the index of its control character.
  const bad: [string, number][] = [
    ["quiet\nsingle", 5],
    ["a\tb", 1],
    ["a\x0bb", 1],
    ["a\x1bb", 1],
    ["a\x7fb", 1],
  ];

  it("in a rendered linux command (the kernel would split it), as in BLS and in --args", () => {
    for (const [v, at] of bad) {
      const linux = renderGrubScript([
        { kind: "linux", path: "/vmlinuz", args: ["ro", `x=${v}`] },
      ])._unsafeUnwrapErr();
      const bls = createBlsEntry({
        title: "t",
        linux: "/v",
        options: [`x=${v}`],
      })._unsafeUnwrapErr();
      const line = renderKernelCommandLine([`x=${v}`])._unsafeUnwrapErr();
      const option = parseKernelArgsOption(`x=${v}`)._unsafeUnwrapErr();
      for (const e of [linux, bls, line, option])
        expect(e, JSON.stringify(v)).toMatchObject({
          code: "GRUB_BAD_KERNEL_ARGS",
          reason: "control-character",
          index: at + 2,
        });
    }
    // Also inside a word made of pieces.
    expect(
      renderGrubScript([
        { kind: "linux", path: "/vmlinuz", args: [["a=", { variable: "x" }, "\tb"]] },
      ])._unsafeUnwrapErr().code,
    ).toBe("GRUB_BAD_KERNEL_ARGS");
  });

  it("a kernel-syntax argument: a bare space or an odd quote is GRUB_BAD_KERNEL_ARGS; a quoted space is fine", () => {
    expect(checkKernelArg('a="b c"')._unsafeUnwrap()).toBe('a="b c"');
    expect(checkKernelArg("a b")._unsafeUnwrapErr()).toMatchObject({
      code: "GRUB_BAD_KERNEL_ARGS",
      reason: "space",
      index: 1,
    });
    expect(checkKernelArg('a="b')._unsafeUnwrapErr()).toMatchObject({
      reason: "unbalanced-quote",
      index: 2,
    });
    expect(
      checkKernelArg(`x=${"a".repeat(GRUB_TOKEN_MAX_BYTES)}`)._unsafeUnwrapErr(),
    ).toMatchObject({ code: "GRUB_UNREPRESENTABLE", reason: "too-long" });
  });
});
