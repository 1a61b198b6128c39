/**
 * Issue #19: `lifeboat grub render --args` takes the kernel arguments as one
 * string, read the way the kernel reads its command line (a double-quoted
 * part stays one argument), with the same parser as `--recovery-args`; a
 * tab, line break or token GRUB cannot read is a typed error, nothing printed.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { grubRenderDataSchema } from "../src/json-schemas.js";
import { cliJson, cliJsonFailure, ensureBuilt } from "./support.js";

beforeAll(() => ensureBuilt(), 300_000);

const base = ["grub", "render", "--kernel", "/vmlinuz-6.8", "--initrd", "/initramfs-6.8.img"];

describe("lifeboat grub render --args", () => {
  it("keeps a double-quoted part whole: one kernel argument, not three", () => {
    const g = cliJson(
      [...base, "--args", 'root=UUID=1 lifeboat.msg="a b c"  ro'],
      grubRenderDataSchema,
    );
    // The factory-reset entry gets the three arguments, the quoted one as one GRUB word
    // (GRUB puts it in double quotes itself when it builds the kernel command line).
    expect(g.sampleOutput).toContain(
      "linux /vmlinuz-6.8 root=UUID=1 'lifeboat.msg=a b c' ro systemd.factory_reset=1\n",
    );
  });

  it("a tab or line break inside --args is GRUB_BAD_KERNEL_ARGS, as for --recovery-args", () => {
    for (const [flag, value] of [
      ["--args", "root=UUID=1\tro"],
      ["--args", "root=UUID=1\nro"],
      ["--recovery-args", "console=ttyS0\tquiet"],
    ] as const) {
      const r = cliJsonFailure([...base, "--args", "ro", flag, value]);
      expect(r.doc.error, value).toMatchObject({
        code: "GRUB_BAD_KERNEL_ARGS",
        reason: "control-character",
      });
      expect(r.code).not.toBe(0);
      expect(r.code).toBe(r.doc.exitCode);
    }
  });

  it("a kernel argument GRUB's lexer cannot read (over 8191 bytes) is refused, not rendered", () => {
    const r = cliJsonFailure([...base, "--args", `ro lifeboat.x=${"恢".repeat(2800)}`]);
    expect(r.doc.error).toMatchObject({ code: "GRUB_UNREPRESENTABLE", reason: "too-long" });
  });
});
