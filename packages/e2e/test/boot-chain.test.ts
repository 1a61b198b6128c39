/**
 * THE proof of the product (issue 10): a real, bootable Fedora-shaped disk
 * is provisioned by Lifeboat, broken, reset by the recovery environment
 * booted from its own GRUB entry, and boots again with the factory root and
 * the user's /home. Every boot's serial console is kept under
 * test-output/qemu/ (named after the step).
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildExchangeHelper } from "@lifeboat/btrfs";
import {
  type CommandRunner,
  createExecaRunner,
  formatError,
  type LifeboatError,
} from "@lifeboat/core";
import { attachPartition, MiB, planRecoveryPartition, readGpt, writeGpt } from "@lifeboat/gpt";
import { recoveryMenuEntry, renderGrubScript } from "@lifeboat/grub";
import { buildRecoveryEnvironment } from "@lifeboat/recovery-env";
import {
  boot,
  type FedoraFixture,
  fedoraFixture,
  fixtureFingerprints,
  mountFixture,
  partitionsOf,
  renderGrubenv,
  repositoryRoot,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import type { Result } from "neverthrow";
import { afterAll, describe, expect, it } from "vitest";

const RECOVERY_TYPE = "d999c366-3126-4451-b3c1-be31e091158c";
const RECOVERY_LABEL = "LIFEBOAT";
const MARKER = /LIFEBOAT-MARKER root=([0-9a-f]{64}) home=([0-9a-f]{64})/;
const runner: CommandRunner = createExecaRunner();

const started = Date.now();
function say(text: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[boot-chain ${s}s] ${text}`);
}

async function must<T, E extends LifeboatError>(r: Result<T, E> | PromiseLike<Result<T, E>>) {
  const v = await r;
  if (v.isErr()) throw new Error(formatError(v.error));
  return v.value;
}

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

/** Whether the CLI bundle is missing or older than any source it is built from. */
async function stale(bundle: string, root: string): Promise<boolean> {
  const built = await stat(bundle).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  for (const pkg of ["core", "gpt", "btrfs", "grub", "image", "casync", "reset", "cli"]) {
    const src = path.join(root, "packages", pkg, "src");
    for (const f of await readdir(src, { recursive: true })) {
      if ((await stat(path.join(src, f))).mtimeMs > built) return true;
    }
  }
  return false;
}

/** Run the freshly built CLI bundle on the host. */
function cli(bundle: string, args: string[]): Promise<string> {
  return sh("node", [bundle, ...args]);
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
    const root = repositoryRoot();
    const cliDir = path.join(root, "packages/cli");
    const bundle = path.join(cliDir, "dist/lifeboat-standalone.js");
    if (await stale(bundle, root)) {
      say("  building the CLI bundle (tsup)");
      await sh("pnpm", ["--dir", cliDir, "exec", "tsup", "--silent"]);
    }

    const table = await must(readGpt(runner, fx.image));
    const layout = await must(
      planRecoveryPartition({ kind: "carve", table, recoveryBytes: 1400n * MiB }),
    );
    await must(writeGpt(runner, fx.image, layout.table));
    {
      const loop = await must(attachPartition(runner, fx.image, layout.recovery));
      try {
        await sh("mkfs.ext4", ["-q", "-L", RECOVERY_LABEL, loop.device]);
      } finally {
        await loop.detach();
      }
    }
    const parts = await partitionsOf(fx.image);
    const rec = parts.find((p) => p.type === RECOVERY_TYPE);
    if (rec === undefined) throw new Error("the recovery partition is not in the table");

    const keys = scratch.path("keys");
    await cli(bundle, ["image", "keygen", "--out", keys]);
    const provisioned = await cli(bundle, [
      "provision",
      "--disk",
      fx.image,
      "--key",
      path.join(keys, "private.pem"),
      "--no-grub",
      "--product",
      "Fedora-shaped fixture",
      "--build",
      fx.key,
      "--json",
    ]);
    say(`  provision: ${provisioned.trim().slice(0, 300)}`);

    const env = await must(
      buildRecoveryEnvironment(runner, {
        cliBundle: bundle,
        outDir: scratch.path("env"),
        cliArguments: {
          interactive: ["recovery", "--disk", "{disk}"],
          unattended: [
            "recovery",
            "--request",
            "{request}",
            "--digest",
            "{digest}",
            "--disk",
            "{disk}",
          ],
        },
      }),
    );
    say(`  recovery environment: initrd ${(env.initrdBytes / 2 ** 20).toFixed(1)} MiB`);
    const helper = await must(buildExchangeHelper(runner));

    // The recovery partition gets the environment and the exchange helper.
    const recDev = (
      await sh("losetup", [
        "--find",
        "--show",
        "--offset",
        String(rec.offsetBytes),
        "--sizelimit",
        String(rec.sizeBytes),
        fx.image,
      ])
    ).trim();
    scratch.defer(() => sh("losetup", ["-d", recDev]).catch(() => undefined));
    const recUuid = (await sh("blkid", ["-o", "value", "-s", "UUID", recDev])).trim();
    const recMount = scratch.path("recovery");
    await mkdir(recMount, { recursive: true });
    await sh("mount", [recDev, recMount]);
    await copyFile(env.kernel, path.join(recMount, "vmlinuz"));
    await copyFile(env.initrd, path.join(recMount, "initrd.img"));
    await copyFile(helper.path, path.join(recMount, "lifeboat-exch"));
    await chmod(path.join(recMount, "lifeboat-exch"), 0o755);
    await mkdir(path.join(recMount, "requests"), { recursive: true });
    say(`  recovery partition ${recUuid}: ${(await readdir(recMount)).join(", ")}`);
    await sh("umount", [recMount]);

    /** Write a reset request on the recovery partition and the one-shot GRUB entry that runs it. */
    const scheduleRecovery = async (stamp: string) => {
      const request = `${JSON.stringify({ kind: "reset-keep-home", stamp })}\n`;
      const digest = `sha256:${createHash("sha256").update(request).digest("hex")}`;
      await sh("mount", [recDev, recMount]);
      await writeFile(path.join(recMount, "requests/reset.json"), request);
      await sh("umount", [recMount]);
      const entry = recoveryMenuEntry({
        partition: { fsUuid: recUuid, label: RECOVERY_LABEL },
        source: { kind: "files", kernel: "/vmlinuz", initrd: "/initrd.img" },
        id: "lifeboat-recovery",
        title: "Recovery (Lifeboat)",
        kernelArgs: [
          "console=ttyS0,115200",
          "lifeboat.mode=unattended",
          "lifeboat.request=/requests/reset.json",
          `lifeboat.digest=${digest}`,
        ],
      });
      const script = await must(renderGrubScript([entry]));
      const m = await mountFixture(scratch, fx.image, fx);
      await writeFile(path.join(m.boot, "grub2/custom.cfg"), script);
      await writeFile(
        path.join(m.boot, "grub2/grubenv"),
        renderGrubenv({ next_entry: "lifeboat-recovery" }),
      );
      await m.release();
      return digest;
    };

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
      const home = path.join(m.btrfsTop, "home", fx.user);
      await mkdir(path.join(home, "Pictures"), { recursive: true });
      await writeFile(path.join(home, "Documents/after-factory.txt"), "written after OOBE\n");
      await writeFile(path.join(home, "Pictures/photo.raw"), randomBytes(3 * 1024 * 1024));
      await sh("chown", ["-R", "1000:1000", home]);
      expectedHome = (await fixtureFingerprints(m)).home;
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
    const digest = await scheduleRecovery("20261125T210000Z");
    {
      const vm = await boot({ disks: [fx.image], timeoutMs: 900_000, name: "4-recovery" });
      try {
        await vm.waitFor(`lifeboat.digest=${digest}`, 240_000);
        await vm.waitFor(/LIFEBOAT-RECOVERY cli-exit=(\d+)/, 600_000);
        await vm.waitForExit(60_000);
      } finally {
        await vm.kill();
      }
      const exit = /LIFEBOAT-RECOVERY cli-exit=(\d+)/.exec(vm.output());
      expect(exit?.[1], `recovery CLI failed; log ${vm.logFile}`).toBe("0");
      say(`  recovery boot finished in ${(vm.elapsedMs() / 1000).toFixed(0)} s`);
    }

    // ---- 5. boot normally: factory root, the user's /home
    say("step 5: boot normally");
    const after = await bootToMarker(fx.image, "5-after-reset");
    expect(after.root).toBe(factory.root);
    expect(after.home).toBe(expectedHome);
    say(`  root=${after.root.slice(0, 12)}… (factory) home=${after.home.slice(0, 12)}… (user's)`);

    // ---- 6. the power is cut in the middle of a reset; the next recovery boot resumes it
    say("step 6: power cut (QEMU killed) in the middle of a reset, then the recovery entry again");
    await scheduleRecovery("20261125T220000Z");
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
    await scheduleRecovery("20261125T220000Z");
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
