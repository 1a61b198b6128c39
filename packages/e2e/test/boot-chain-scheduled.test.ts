/**
 * Issue 10 step 7: the scheduled reset, proved on the real boot chain. The
 * running (damaged but bootable) system asks for a reset at the next boot
 * with `lifeboat reset schedule`, reboots; GRUB takes the factory-reset
 * entry (`systemd.factory_reset=1`) and the power is cut while the kernel
 * starts, before the unit runs; GRUB takes the entry again (`saved_entry`
 * held it: `next_entry` was cleared), the unit resets the system while
 * its old root is still mounted, reboots into the normal entry, and the
 * marker shows the factory root and the user's /home byte-identical. Each
 * boot is its own QEMU run with `-no-reboot`: the guest's reboot ends QEMU
 * and the next boot is a cold start (firmware and GRUB from scratch, as a
 * real machine's reset gives); what carries over is on the disk (grubenv's
 * next_entry, the unit, the journal). Each boot's serial log is kept under
 * test-output/qemu/.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildExchangeHelper } from "@lifeboat/btrfs";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import { installProgram } from "@lifeboat/recovery-env";
import {
  boot,
  type FedoraFixture,
  fedoraFixture,
  fixtureFingerprints,
  mountFixture,
  type QemuHandle,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { cliBundle } from "./support/cli-bundle.js";
import { provisionFixture } from "./support/recovery.js";
import { must, stepLogger } from "./support/steps.js";
import { addUserFiles } from "./support/user-files.js";

const MARKER = /LIFEBOAT-MARKER root=([0-9a-f]{64}) home=([0-9a-f]{64})/;
// Up to the line end: a match as soon as "default=" arrives would capture nothing.
const GRUB_LINE = /LIFEBOAT-GRUB default=(\S*)\r?\n/;
const runner: CommandRunner = createExecaRunner();

const say = stepLogger("boot-chain-scheduled");

/** The wrapper an OEM package would put at /usr/bin/lifeboat. */
const WRAPPER = `#!/bin/sh
# Lifeboat (OEM preload): Node and the CLI bundle under /usr/lib/lifeboat.
export PATH=/usr/lib/lifeboat/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LIFEBOAT_EXCH_HELPER=/usr/lib/lifeboat/lifeboat-exch
exec /usr/lib/lifeboat/node /usr/lib/lifeboat/lifeboat.js "$@"
`;

/** What the user does on the running system: ask for the reset, reboot. */
const SCHEDULE_SCRIPT = `#!/bin/sh
exec >/dev/console 2>&1
# Only on a normal boot (the unit is still in the old root on the reset boot).
if grep -qw systemd.factory_reset=1 /proc/cmdline; then exit 0; fi
/usr/bin/lifeboat reset schedule --json >/run/lifeboat-schedule.json 2>/run/lifeboat-schedule.err
rc=$?
# One line, so console messages cannot land inside the document.
echo "LIFEBOAT-SCHEDULE-JSON $(tr -d '\n' </run/lifeboat-schedule.json)"
echo "LIFEBOAT-SCHEDULE-JSON-END rc=$rc"
cat /run/lifeboat-schedule.err
if [ "$rc" = 0 ]; then systemctl reboot; fi
`;

const SCHEDULE_UNIT = `[Unit]
Description=Lifeboat test: the user asks for a reset at the next boot
After=lifeboat-marker.service local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lifeboat-test-schedule

[Install]
WantedBy=multi-user.target
`;

describe("boot chain: a reset scheduled from the running system (systemd.factory_reset=1)", () => {
  const scratches: Scratch[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.cleanup();
  });

  it("schedules, reboots into the reset entry (again after a power cut), resets, reboots: factory root, user's /home", {
    timeout: 2_400_000,
  }, async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "cc", "ldd", "grub-script-check");
    const scratch = await Scratch.create("lifeboat-e2e-sched-");
    scratches.push(scratch);

    say("step 1: fixture (cached), the lifeboat package installed into its root (OEM preload)");
    const fx: FedoraFixture = await fedoraFixture(scratch, { onProgress: say });
    say(`  fixture ${fx.key} ${fx.cached ? "from cache" : `built in ${fx.buildSeconds} s`}`);
    const bundle = await cliBundle(say);
    const helper = await must(buildExchangeHelper(runner));
    {
      const m = await mountFixture(scratch, fx.image, fx);
      const sysroot = path.join(m.btrfsTop, "root");
      const added: string[] = [];
      for (const [program, as] of [
        [await realpath(process.execPath), "/usr/lib/lifeboat/node"],
        [
          (await sh("sh", ["-c", "command -v grub-script-check"])).trim(),
          "/usr/lib/lifeboat/bin/grub-script-check",
        ],
        [helper.path, "/usr/lib/lifeboat/lifeboat-exch"],
      ] as const)
        added.push(
          ...(await must(installProgram(runner, { program, sysroot, as }))).librariesAdded,
        );
      await copyFile(bundle, path.join(sysroot, "usr/lib/lifeboat/lifeboat.js"));
      await writeFile(path.join(sysroot, "usr/bin/lifeboat"), WRAPPER, { mode: 0o755 });
      say(
        `  node ${process.version}, CLI bundle, grub-script-check, lifeboat-exch; libraries added: ${added.join(", ") || "none (all in the guest)"}`,
      );
      await m.release();
    }

    say("step 2: provision from the host (factory snapshot of root and the /boot payload)");
    const provisioned = await provisionFixture(bundle, fx.image, { build: fx.key });
    say(`  provision: ${provisioned.replace(/\s+/g, " ").slice(0, 200)}`);
    let factory: { root: string; home: string };
    let expectedHome: string;

    say("step 3: damage /etc and /usr (still bootable), add user files, the user's schedule unit");
    {
      const m = await mountFixture(scratch, fx.image, fx);
      factory = await fixtureFingerprints(m, { root: ".lifeboat/factory/root" });
      const sys = path.join(m.btrfsTop, "root");
      for (const name of ["motd", "issue", "issue.net", "hostname", "apt", "debian_version"])
        await rm(path.join(sys, "etc", name), { recursive: true, force: true });
      await writeFile(path.join(sys, "etc/junk.conf"), "installed junk\n");
      const garbage = randomBytes(4096);
      for (const bin of ["usr/bin/ls", "usr/bin/tac", "usr/bin/dir", "usr/bin/yes"])
        await writeFile(path.join(sys, bin), garbage);
      await writeFile(path.join(sys, "usr/bin/junk-tool"), randomBytes(65536), { mode: 0o755 });
      // The marker stays up on this boot (no power-off) so the user can schedule the reset.
      await mkdir(path.join(sys, "var/lib/lifeboat-test"), { recursive: true });
      await writeFile(path.join(sys, "var/lib/lifeboat-test/stay"), "");
      await writeFile(path.join(sys, "usr/local/sbin/lifeboat-test-schedule"), SCHEDULE_SCRIPT, {
        mode: 0o755,
      });
      await writeFile(
        path.join(sys, "etc/systemd/system/lifeboat-test-schedule.service"),
        SCHEDULE_UNIT,
      );
      const wants = path.join(sys, "etc/systemd/system/multi-user.target.wants");
      await mkdir(wants, { recursive: true });
      await symlink(
        "../lifeboat-test-schedule.service",
        path.join(wants, "lifeboat-test-schedule.service"),
      );
      expectedHome = await addUserFiles(m, fx.user);
      expect(expectedHome).not.toBe(factory.home);
      await m.release();
    }

    say("step 4: three boots, each its own QEMU run (-no-reboot: a guest reboot ends QEMU)");
    /** One boot as its own QEMU process on the fixture's disk; its serial log is test-output/qemu/scheduled-<name>-<time>.log. */
    const bootOnce = async (name: string, drive: (vm: QemuHandle) => Promise<void>) => {
      const vm = await boot({ disks: [fx.image], timeoutMs: 1_500_000, name: `scheduled-${name}` });
      try {
        await drive(vm);
        // With Secure Boot enforced (testkit's default), the guest kernel saw it (issue #21).
        vm.assertSecureBoot();
      } finally {
        await vm.kill();
        say(`  ${name}: ${(vm.elapsedMs() / 1000).toFixed(0)} s in QEMU, log ${vm.logFile}`);
      }
      return vm;
    };
    const at = (vm: QemuHandle) => `${(vm.elapsedMs() / 1000).toFixed(0)} s`;

    // Boot 1: the damaged system comes up; the user schedules the reset and reboots (QEMU exits).
    await bootOnce("1-damaged-schedule", async (vm) => {
      expect((await vm.waitFor(GRUB_LINE, 300_000))[1]).not.toBe("lifeboat-factory-reset");
      const damaged = await vm.waitFor(MARKER, 540_000);
      expect(damaged[1]).not.toBe(factory.root);
      say(
        `  boot 1 (damaged) marker at ${at(vm)}: root=${damaged[1]?.slice(0, 12)}… (not factory)`,
      );
      const json = await vm.waitFor(
        /LIFEBOAT-SCHEDULE-JSON (.*)\r?\n[\s\S]*?LIFEBOAT-SCHEDULE-JSON-END rc=(\d+)/,
        600_000,
      );
      say(`  lifeboat reset schedule --json (rc ${json[2]}) at ${at(vm)}:\n${json[1]?.trim()}`);
      expect(json[2], `schedule failed; log ${vm.logFile}`).toBe("0");
      const doc = JSON.parse(json[1] ?? "") as {
        ok: boolean;
        command: string;
        data: {
          digest: string;
          nextEntry: string;
          request: { kind: string };
          plannedNow: { steps: number };
        };
      };
      expect(doc.ok).toBe(true);
      expect(doc.command).toBe("reset schedule");
      expect(doc.data.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(doc.data.request.kind).toBe("reset-keep-home");
      expect(doc.data.nextEntry).toBe("lifeboat-factory-reset");
      await vm.waitForExit(300_000);
      say(`  boot 1: the guest rebooted (QEMU exited) at ${at(vm)}`);
    });

    // Boot 2a: GRUB takes the reset entry and clears next_entry (save_env); the power is cut
    // while the kernel starts, before the unit could run. The reset must not be lost.
    await bootOnce("2a-power-cut-before-unit", async (vm) => {
      expect((await vm.waitFor(GRUB_LINE, 400_000))[1]).toBe("lifeboat-factory-reset");
      await vm.waitFor(/Secure boot enabled/, 400_000);
      say(`  boot 2a: GRUB took lifeboat-factory-reset, kernel starting: power cut at ${at(vm)}`);
    });
    {
      const m = await mountFixture(scratch, fx.image, fx);
      const env = await readFile(path.join(m.boot, "grub2/grubenv"), "latin1");
      await m.release();
      const vars = env.split("\n").filter((l) => /^\w+=/.test(l));
      say(`  after the cut, grubenv: ${vars.join(" ")}`);
      // GRUB cleared the one-shot; saved_entry holds the reset until the unit starts.
      expect(vars).not.toContain("next_entry=lifeboat-factory-reset");
      expect(vars).toContain("saved_entry=lifeboat-factory-reset");
    }

    // Boot 2: GRUB takes the reset entry again; the unit resets and reboots (SuccessAction=reboot).
    await bootOnce("2-factory-reset", async (vm) => {
      expect((await vm.waitFor(GRUB_LINE, 400_000))[1]).toBe("lifeboat-factory-reset");
      say(`  boot 2: GRUB took lifeboat-factory-reset at ${at(vm)}`);
      const done = await vm.waitFor(
        /LIFEBOAT-SCHEDULED (reset done|resumed and finished) in ([^\r\n]*)/,
        900_000,
      );
      say(`  boot 2: ${done[0]} (at ${at(vm)})`);
      expect(vm.output()).toMatch(/Command line: [^\r\n]*systemd\.factory_reset=1/);
      await vm.waitForExit(300_000);
      say(`  boot 2: the unit rebooted the guest (QEMU exited) at ${at(vm)}`);
    });

    // Boot 3: the normal entry; factory root, the user's /home; the marker powers off.
    await bootOnce("3-after-reset", async (vm) => {
      expect((await vm.waitFor(GRUB_LINE, 400_000))[1]).not.toBe("lifeboat-factory-reset");
      say(`  boot 3: normal entry at ${at(vm)}`);
      const after = await vm.waitFor(MARKER, 540_000);
      expect(after[1]).toBe(factory.root);
      expect(after[2]).toBe(expectedHome);
      say(
        `  boot 3 marker at ${at(vm)}: root=${after[1]?.slice(0, 12)}… (factory) home=${after[2]?.slice(0, 12)}… (user's)`,
      );
      await vm.waitForExit(120_000);
      say(`  boot 3: powered off at ${at(vm)}`);
    });
    {
      const m = await mountFixture(scratch, fx.image, fx);
      const env = await readFile(path.join(m.boot, "grub2/grubenv"), "latin1");
      await m.release();
      // Nothing of the schedule is left in grubenv: later boots are the system's own.
      expect(env).not.toMatch(/lifeboat/);
    }
  });
});
