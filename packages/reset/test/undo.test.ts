// "Undo the last reset" on a loop-backed disk (issue #17): a reset keeping
// /home keeps the old root and its /boot payload; the undo, SIGKILLed in a
// child process twice and resumed, brings both back byte for byte while
// /home stays untouched; the undo keeps the factory root in turn.
import { spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Plan, readJournal } from "@lifeboat/core";
import { exportPublicKeyPem } from "@lifeboat/image";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeReset, inspect, plan, resumeReset, type SystemState } from "../src/index.js";
import { bundleChild } from "./support/child-bundle.js";
import {
  buildGolden,
  damage,
  freshRootListing,
  type Golden,
  listing,
  type Machine,
  machine,
  runner,
} from "./support/machine.js";

const resetStamp = "20261205T070000Z";
const undoStamp = "20261205T080000Z";
let scratch: Scratch;
let golden: Golden;
let childScript: string;

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-reset-undo-");
  golden = await buildGolden(scratch, "small");
  childScript = scratch.path("child.mjs");
  await bundleChild(childScript);
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

/** Run the plan (or resume) in a child; SIGKILL it `delayMs` after `stepId` starts. */
async function runAndKill(
  m: Machine,
  p: Plan,
  mode: "execute" | "resume",
  stepId: string,
  delayMs: number,
): Promise<"killed" | "finished"> {
  const config = scratch.path(`child-${mode}-${stepId}.json`);
  await writeFile(
    config,
    JSON.stringify({
      top: m.top,
      boot: m.boot,
      recoveryDir: m.recoveryDir,
      disks: [m.disk.device],
      publicKeyPem: exportPublicKeyPem(golden.publicKey),
      plan: p,
      mode,
    }),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, config], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let buffer = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      buffer += text;
      if (timer === undefined && buffer.includes(`"type":"step-started","stepId":"${stepId}"`))
        timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (timer) clearTimeout(timer);
      resolve(signal === "SIGKILL" ? "killed" : "finished");
    });
  });
}

async function state(m: Machine): Promise<SystemState> {
  return (await inspect(runner, { top: m.top, boot: m.boot, disks: [m.disk] }))._unsafeUnwrap();
}

describe("undo-reset on a loop-backed Btrfs", () => {
  it("reset keeping /home, then undo (killed twice, resumed): root and /boot are the old ones, /home untouched", async () => {
    const m = await machine(scratch, golden);
    await damage(m); // the user's system drifted from the factory: other files, a newer kernel
    const rootBefore = await freshRootListing(scratch, m);
    const bootBefore = await listing(m.boot);
    const home = await listing(path.join(m.top, "home"));

    const reset = plan(await state(m), {
      kind: "reset-keep-home",
      stamp: resetStamp,
    })._unsafeUnwrap();
    (
      await executeReset({ runner, top: m.top, boot: m.boot }, reset, { confirm: reset.digest })
    )._unsafeUnwrap();
    const factoryRoot = await freshRootListing(scratch, m);
    const factoryBoot = await listing(m.boot);
    expect(factoryRoot).not.toEqual(rootBefore);
    expect(factoryBoot).not.toEqual(bootBefore);

    const s = await state(m);
    expect(s.keptRoots?.map((k) => [k.rootPath, k.bootPath])).toEqual([
      [`root.old-${resetStamp}`, `.lifeboat/boot.old-${resetStamp}`],
    ]);
    expect(s.keptRoots?.[0]?.bootFiles.map((f) => f.path)).toContain("vmlinuz-6.9.0-junk");
    const undo = plan(s, { kind: "undo-reset", stamp: undoStamp })._unsafeUnwrap();

    // Killed just after the kept /boot payload starts being staged, then while /boot is installed.
    expect(await runAndKill(m, undo, "execute", "stage-boot", 0)).toBe("killed");
    const journal = path.join(m.top, ".lifeboat/journal.json");
    expect((await readJournal(journal))._unsafeUnwrap().completedStepIds).not.toContain(
      "swap-root",
    );
    expect(await freshRootListing(scratch, m)).toEqual(factoryRoot); // still bootable: the reset root
    const second = await runAndKill(m, undo, "resume", "install-boot", 0);
    const j = (await readJournal(journal))._unsafeUnwrap();
    if (second === "killed") expect(j.completedStepIds).toContain("swap-root");
    (await resumeReset({ runner, top: m.top, boot: m.boot }))._unsafeUnwrap();

    expect(await freshRootListing(scratch, m)).toEqual(rootBefore);
    expect(await listing(m.boot)).toEqual(bootBefore);
    expect(await listing(path.join(m.top, "home"))).toEqual(home);
    const top = await readdir(m.top);
    expect(top).toContain(`root.old-${undoStamp}`);
    expect(top).not.toContain(`root.old-${resetStamp}`);
    expect(await readdir(path.join(m.top, ".lifeboat"))).toContain(`boot.old-${undoStamp}`);
    expect(await readdir(path.join(m.top, ".lifeboat"))).not.toContain(`boot.old-${resetStamp}`);

    // The undo can itself be undone: back to the factory root and /boot.
    const again = plan(await state(m), {
      kind: "undo-reset",
      stamp: "20261205T090000Z",
    })._unsafeUnwrap();
    (
      await executeReset({ runner, top: m.top, boot: m.boot }, again, { confirm: again.digest })
    )._unsafeUnwrap();
    expect(await freshRootListing(scratch, m)).toEqual(factoryRoot);
    expect(await listing(m.boot)).toEqual(factoryBoot);
    expect(await listing(path.join(m.top, "home"))).toEqual(home);
  }, 600_000);
});
