/**
 * Issue #19: `lifeboat grub render --recovery-args` takes the kernel
 * arguments as one string, read the way the kernel reads its command line (a
 * double-quoted part stays one argument); a tab, line break or token GRUB
 * cannot read is a typed error, nothing printed. (Issue #16: the entries boot
 * the recovery environment, so there is no system `--args` any more.)
 */
import { beforeAll, describe, expect, it } from "vitest";
import { grubRenderDataSchema } from "../src/json-schemas.js";
import { cliJson, cliJsonFailure, ensureBuilt } from "./support.js";

beforeAll(() => ensureBuilt(), 300_000);

const base = ["grub", "render"];

describe("lifeboat grub render --recovery-args", () => {
  it("keeps a double-quoted part whole: one kernel argument, not three", () => {
    const g = cliJson(
      [...base, "--recovery-args", 'quiet lifeboat.msg="a b c"  ro'],
      grubRenderDataSchema,
    );
    // Both entries get the three arguments, the quoted one as one GRUB word
    // (GRUB puts it in double quotes itself when it builds the kernel command line).
    expect(g.sampleOutput).toContain(
      "linux /environment/vmlinuz quiet 'lifeboat.msg=a b c' ro lifeboat.mode=factory-reset\n",
    );
  });

  it("a tab or line break inside --recovery-args is GRUB_BAD_KERNEL_ARGS", () => {
    for (const [flag, value] of [
      ["--recovery-args", "root=UUID=1\tro"],
      ["--recovery-args", "root=UUID=1\nro"],
      ["--recovery-args", "console=ttyS0\tquiet"],
    ] as const) {
      const r = cliJsonFailure([...base, flag, value]);
      expect(r.doc.error, value).toMatchObject({
        code: "GRUB_BAD_KERNEL_ARGS",
        reason: "control-character",
      });
      expect(r.code).not.toBe(0);
      expect(r.code).toBe(r.doc.exitCode);
    }
  });

  it("a kernel argument GRUB's lexer cannot read (over 8191 bytes) is refused, not rendered", () => {
    const r = cliJsonFailure([...base, "--recovery-args", `ro lifeboat.x=${"恢".repeat(2800)}`]);
    expect(r.doc.error).toMatchObject({ code: "GRUB_UNREPRESENTABLE", reason: "too-long" });
  });
});
