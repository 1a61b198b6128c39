import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { RECOVERY_SCHEDULE } from "@lifeboat/core/layout";
import { requireTools } from "@lifeboat/testkit";
import { describe, expect, it } from "vitest";
import { lifeboatMenuEntries, renderGrubScript } from "../src/index.js";
import { runGrubEmu } from "./_support/grub-emu.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

/**
 * The block as provision writes it, run by real GRUB (grub-emu). The search
 * for the recovery partition finds nothing in the emulator, so the variable it
 * sets is given beforehand: a host directory whose name ends in ")" makes
 * `(${lifeboat_recovery})/schedule/next-boot.cfg` a host path.
 */
async function runBlock(withFragment: boolean): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-scheduled-"));
  try {
    const partition = path.join(dir, "p)");
    await mkdir(path.join(partition, RECOVERY_SCHEDULE.directory), { recursive: true });
    if (withFragment)
      await writeFile(
        path.join(partition, RECOVERY_SCHEDULE.grubFragment),
        `set ${RECOVERY_SCHEDULE.digestVariable}=${DIGEST}\n`,
      );
    const block = renderGrubScript(
      lifeboatMenuEntries({ fsUuid: "0000-no-such-uuid" }, { recoveryKernelArgs: ["quiet"] }),
    )._unsafeUnwrap();
    const out = await runGrubEmu(
      `set default=0\nset lifeboat_recovery="host)${path.join(dir, "p")}"\n${block}`,
      60_000,
      {
        epilogue: `echo "LB default=\${default} digest=\${${RECOVERY_SCHEDULE.digestVariable}}"\nhalt\n`,
      },
    );
    return out.toString("latin1");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("the scheduled reset in Lifeboat's GRUB block (issue #16, reset schedule --in-recovery)", () => {
  it("with the fragment on the recovery partition: sourced, its digest set, the scheduled entry the default (grub-emu)", async () => {
    requireTools("grub-emu");
    const out = await runBlock(true);
    expect(out).toContain(`LB default=${RECOVERY_SCHEDULE.entryId} digest=${DIGEST}`);
    expect(out).not.toContain("can't find command");
  });

  it("without it: the default is left alone and no digest is set (grub-emu)", async () => {
    requireTools("grub-emu");
    const out = await runBlock(false);
    expect(out).toContain("LB default=0 digest=");
    expect(out).not.toContain(`LB default=${RECOVERY_SCHEDULE.entryId}`);
  });
});
