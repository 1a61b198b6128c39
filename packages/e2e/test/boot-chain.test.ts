/**
 * THE proof of the product (issue 10): a real, bootable Fedora-shaped disk
 * is provisioned by Lifeboat, broken, reset by the recovery environment
 * booted from its own GRUB entry, and boots again with the factory root and
 * the user's /home. Only public commands: `lifeboat provision` (with its GRUB
 * integration) and `lifeboat reset schedule --in-recovery`, whose fragment on
 * the recovery partition makes provision's custom.cfg block boot the
 * unattended reset once. Every boot's serial console is kept under
 * test-output/qemu/ (named after the step).
 */
import { randomBytes } from "node:crypto";
import { readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import {
  boot,
  type FedoraFixture,
  fedoraFixture,
  fixtureFingerprints,
  mountFixture,
  requireRoot,
  requireTools,
  Scratch,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { cliBundle, runCli } from "./support/cli-bundle.js";
import {
  addRecoveryPartition,
  copyInstalledEnvironment,
  provisionFixture,
} from "./support/recovery.js";
import { stepLogger } from "./support/steps.js";
import { addUserFiles } from "./support/user-files.js";

const MARKER = /LIFEBOAT-MARKER root=([0-9a-f]{64}) home=([0-9a-f]{64})/;
const runner: CommandRunner = createExecaRunner();
const say = stepLogger("boot-chain");

/** Boot the image normally; return the marker's fingerprints. */
async function bootToMarker(image: string, name: string) {
  const vm = await boot({ disks: [image], timeoutMs: 600_000, name });
  try {
    const m = await vm.waitFor(MARKER, 540_000);
    await vm.waitForExit(90_000);
    say(`  ${name}: marker after ${(vm.elapsedMs() / 1000).toFixed(0)} s (log ${vm.logFile})`);
    return { root: m[1] as string, home: m[2] as string };
  } finally {
    await vm.kill();
  }
}

describe("boot chain: break a real system, boot the recovery entry, reset, boot again", () => {
  const scratches: Scratch[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.cleanup();
  });

  it("resets a broken Fedora-shaped system from its recovery entry, keeping /home", async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "mkfs.ext4", "blkid", "cc", "zstd", "cpio", "busybox");
    const scratch = await Scratch.create("lifeboat-e2e-");
    scratches.push(scratch);

    // ---- 1. the fixture boots and prints its fingerprints
    say("step 1: fixture (cached) and its first boot");
    const fx: FedoraFixture = await fedoraFixture(scratch, { onProgress: say });
    say(`  fixture ${fx.key} ${fx.cached ? "from cache" : `built in ${fx.buildSeconds} s`}`);
    const factory = await bootToMarker(fx.image, "1-factory");
    {
      const m = await mountFixture(scratch, fx.image, fx);
      expect(await fixtureFingerprints(m)).toEqual(factory);
      await m.release();
    }

    // ---- 2. provision from the host
    say(
      "step 2: provision (recovery partition, factory snapshot, signed image, environment, GRUB)",
    );
    const bundle = await cliBundle(say);
    // docs/oem-guide.md step 2: the recovery partition and its filesystem.
    const recoveryPartition = await addRecoveryPartition(runner, bundle, fx.image);
    const provisioned = await provisionFixture(bundle, fx.image, {
      build: fx.key,
      keysDir: scratch.path("keys"),
      grubRecoveryArgs: "console=ttyS0,115200",
    });
    say(`  provision: ${provisioned.trim().slice(0, 300)}`);
    // provision installed the recovery environment around the fixture's own kernel.
    const reported = JSON.parse(provisioned).data.recoveryEnvironment as {
      digest: string;
      kernelVersion: string;
      changed: boolean;
    } | null;
    expect(reported?.changed).toBe(true);
    const recMount = scratch.path("recovery");
    const installed = await copyInstalledEnvironment(
      runner,
      fx.image,
      recoveryPartition,
      recMount,
      scratch.path("env"),
    );
    expect(installed.digest).toBe(reported?.digest);
    const fixtureKernels = await (async () => {
      const m = await mountFixture(scratch, fx.image, fx);
      try {
        return (await readdir(m.boot)).filter((n) => n.startsWith("vmlinuz-"));
      } finally {
        await m.release();
      }
    })();
    expect(fixtureKernels).toContain(`vmlinuz-${installed.kernelVersion}`);
    const recUuid = installed.fsUuid;
    say(
      `  recovery partition ${recUuid}: environment ${installed.digest.slice(0, 19)}… (kernel ${installed.kernelVersion}, initrd ${(installed.initrdBytes / 2 ** 20).toFixed(1)} MiB)`,
    );

    /**
     * `lifeboat reset schedule --in-recovery` from the host, as docs/cli.md tells a person: the
     * request and its GRUB fragment on the recovery partition; provision's custom.cfg block boots
     * "Scheduled reset (Lifeboat)" once. Returns the request's digest and what was planned.
     */
    const scheduleRecovery = async (stamp: string) => {
      const out = await runCli(bundle, [
        "--json",
        "reset",
        "schedule",
        "--in-recovery",
        "--disk",
        fx.image,
        "--stamp",
        stamp,
      ]);
      const d = JSON.parse(out).data as { digest: string; plannedNow: { action: string } };
      say(`  reset schedule --in-recovery: ${d.digest.slice(0, 19)}… (${d.plannedNow.action})`);
      return d;
    };
    /** What is still scheduled on the recovery partition, by `lifeboat reset unschedule --in-recovery`. */
    const unschedule = async () =>
      (
        JSON.parse(
          await runCli(bundle, [
            "--json",
            "reset",
            "unschedule",
            "--in-recovery",
            "--disk",
            fx.image,
          ]),
        ).data as { removed: string[] }
      ).removed;

    // ---- 3. damage the system, add user files
    say("step 3: damage /etc and /usr, add user files under /home, boot");
    let expectedHome: string;
    {
      const m = await mountFixture(scratch, fx.image, fx);
      const sys = path.join(m.btrfsTop, "root");
      for (const name of await readdir(path.join(sys, "etc")))
        if (name !== "fstab")
          await rm(path.join(sys, "etc", name), { recursive: true, force: true });
      const garbage = randomBytes(4096);
      for (const bin of [
        "usr/lib/systemd/systemd",
        "usr/bin/sha256sum",
        "usr/bin/find",
        "usr/bin/ls",
      ])
        await writeFile(path.join(sys, bin), garbage);
      expectedHome = await addUserFiles(m, fx.user);
      expect(expectedHome).not.toBe(factory.home);
      await m.release();
    }
    {
      const vm = await boot({ disks: [fx.image], timeoutMs: 120_000, name: "3-damaged" });
      let reached = false;
      try {
        await vm.waitFor(/LIFEBOAT-MARKER root=|Kernel panic|emergency mode/, 75_000);
        reached = /LIFEBOAT-MARKER root=/.test(vm.output());
      } catch {
        // A timeout: the broken system never printed the marker.
      } finally {
        await vm.kill();
      }
      expect(reached).toBe(false);
      say(`  damaged system did not reach the marker (log ${vm.logFile})`);
    }

    // ---- 4. boot the recovery entry: unattended reset keeping /home
    say("step 4: boot the recovery entry (one-shot), unattended reset");
    const { digest, plannedNow } = await scheduleRecovery("20261125T210000Z");
    expect(plannedNow.action).toBe("reset");
    {
      const vm = await boot({ disks: [fx.image], timeoutMs: 900_000, name: "4-recovery" });
      try {
        await vm.waitFor(`lifeboat.digest=${digest}`, 240_000);
        await vm.waitFor("LIFEBOAT-RECOVERY schedule consumed", 120_000);
        await vm.waitFor(/LIFEBOAT-RECOVERY cli-exit=(\d+)/, 600_000);
        await vm.waitForExit(60_000);
      } finally {
        await vm.kill();
      }
      const exit = /LIFEBOAT-RECOVERY cli-exit=(\d+)/.exec(vm.output());
      expect(exit?.[1], `recovery CLI failed; log ${vm.logFile}`).toBe("0");
      say(`  recovery boot finished in ${(vm.elapsedMs() / 1000).toFixed(0)} s`);
    }
    // Consumed by the recovery environment: nothing is left to run at the next boot.
    expect(await unschedule()).toEqual([]);

    // ---- 5. boot normally: factory root, the user's /home
    say("step 5: boot normally");
    const after = await bootToMarker(fx.image, "5-after-reset");
    expect(after.root).toBe(factory.root);
    expect(after.home).toBe(expectedHome);
    say(`  root=${after.root.slice(0, 12)}… (factory) home=${after.home.slice(0, 12)}… (user's)`);

    // ---- 6. the power is cut in the middle of a reset; the next recovery boot resumes it
    say("step 6: power cut (QEMU killed) in the middle of a reset, then the recovery entry again");
    expect((await scheduleRecovery("20261125T220000Z")).plannedNow.action).toBe("reset");
    {
      const vm = await boot({ disks: [fx.image], timeoutMs: 900_000, name: "6-power-cut" });
      try {
        // The plan's steps are journaled on the target; cut the power as step 4 starts.
        await vm.waitFor(/\[4\/\d+\] /, 600_000);
      } finally {
        await vm.kill();
      }
      expect(vm.output()).not.toMatch(/cli-exit=/);
      say(`  power cut after ${(vm.elapsedMs() / 1000).toFixed(0)} s, during step 4`);
    }
    // The schedule was consumed before the reset began, so the cut cannot loop; the person
    // schedules again, and the plan is the interrupted one, resumed from its journal.
    expect(await unschedule()).toEqual([]);
    expect((await scheduleRecovery("20261125T220000Z")).plannedNow.action).toBe("resume");
    {
      const vm = await boot({ disks: [fx.image], timeoutMs: 900_000, name: "6-resume" });
      try {
        await vm.waitFor(/resuming it from its journal/, 600_000);
        await vm.waitFor(/LIFEBOAT-RECOVERY cli-exit=(\d+)/, 300_000);
        await vm.waitForExit(60_000);
      } finally {
        await vm.kill();
      }
      const exit = /LIFEBOAT-RECOVERY cli-exit=(\d+)/.exec(vm.output());
      expect(exit?.[1], `resume failed; log ${vm.logFile}`).toBe("0");
      expect(vm.output()).toMatch(/LIFEBOAT-RECOVERY resumed and finished/);
    }
    const resumed = await bootToMarker(fx.image, "6-after-resume");
    expect(resumed.root).toBe(factory.root);
    expect(resumed.home).toBe(expectedHome);
    say(
      `  after the resumed reset: root=${resumed.root.slice(0, 12)}… home=${resumed.home.slice(0, 12)}…`,
    );
  }, 3_000_000);
});
