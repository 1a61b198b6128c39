/**
 * Crash states of a real reset (issue 22): the recovery environment runs an
 * unattended "reset keeping /home" in QEMU on a disk whose every write and
 * flush QEMU's blklogwrites driver logs; on the host, every flush point and
 * a seeded sample of each epoch's reorderings is made from the log and
 * checked (GPT, `btrfs check`, old-or-new root, the user's /home, a readable
 * journal, and the recovery command finishing to the new system).
 *
 * `LIFEBOAT_CRASH_SAMPLES=<n>` samples up to n reorderings per epoch
 * (default: 1 per epoch, thinned to 12 sampled states in all);
 * `LIFEBOAT_CRASH_SEED` changes the seed (default 22);
 * `LIFEBOAT_CRASH_KEEP=<dir>` keeps the base image, the log, the request
 * and the keys there, to look at a failing state again.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import { recoveryMenuEntry, renderGrubScript } from "@lifeboat/grub";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/recovery-env";
import {
  boot,
  CrashStateBuilder,
  createBtrfs,
  fedoraFixture,
  fixtureFingerprints,
  isDataWrite,
  isFlush,
  mountFixture,
  planCrashStates,
  readWriteLog,
  renderGrubenv,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  writeLogBlockdevArgs,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { cliBundle } from "./support/cli-bundle.js";
import { checkResetState, type StateVerdict } from "./support/crash-check.js";
import {
  carveRecoveryPartition,
  provisionFixture,
  RECOVERY_LABEL,
  withPartitionMounted,
} from "./support/recovery.js";
import { must, stepLogger } from "./support/steps.js";
import { addUserFiles } from "./support/user-files.js";

const runner: CommandRunner = createExecaRunner();
const say = stepLogger("crash-replay");
// CI: one sampled state per epoch, thinned to at most 12 in all; the opt-in run takes every one.
const SAMPLES = Number(process.env.LIFEBOAT_CRASH_SAMPLES ?? 1);
const MAX_SAMPLED =
  process.env.LIFEBOAT_CRASH_SAMPLES === undefined ? 12 : Number.POSITIVE_INFINITY;
const SEED = Number(process.env.LIFEBOAT_CRASH_SEED ?? 22);

describe("crash states replayed from a block-level write log", () => {
  const scratches: Scratch[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.cleanup();
  });

  it("reset keeping /home: every flush point and sampled reorderings pass the checker", async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "mkfs.btrfs", "btrfs", "sgdisk", "blkid", "cc", "zstd");
    const scratch = await Scratch.create("lifeboat-crash-");
    scratches.push(scratch);

    // A Btrfs work area: the disk, its copy before recording and each state are reflinks.
    const work = await createBtrfs(scratch, { bytes: 32 * 1024 ** 3, name: "work.img" });
    say(
      "step 1: fixture, recovery partition, provision (factory snapshot, image set, environment)",
    );
    const fx = await fedoraFixture(scratch, {
      onProgress: say,
      name: path.relative(scratch.dir, path.join(work.mountpoint, "fedora.img")),
    });
    const bundle = await cliBundle(say);
    // The replay runs a copy: it takes minutes, and a rebuild meanwhile would empty dist/.
    const cliCopy = scratch.path("lifeboat-standalone.mjs");
    await sh("cp", [bundle, cliCopy]);
    const layout = await carveRecoveryPartition(runner, fx.image);
    await provisionFixture(bundle, fx.image, { build: fx.key, keysDir: scratch.path("keys") });

    // The system to replace differs from the factory one; the user has files in /home.
    const m = await mountFixture(scratch, fx.image, fx);
    const factory = await fixtureFingerprints(m);
    await writeFile(path.join(m.btrfsTop, "root/etc/lifeboat-crash-old"), "the old system\n");
    const home = await addUserFiles(m, fx.user);
    const old = await fixtureFingerprints(m);
    expect(old.root).not.toBe(factory.root);

    // The request and the one-shot GRUB entry the recovery environment runs it from.
    const request = `${JSON.stringify({ kind: "reset-keep-home", stamp: "20261205T040000Z" })}\n`;
    const requestFile = scratch.path("reset.json");
    await writeFile(requestFile, request);
    const digest = `sha256:${createHash("sha256").update(request).digest("hex")}`;
    const recMount = scratch.path("recovery");
    const recUuid = await withPartitionMounted(
      runner,
      fx.image,
      layout.recovery,
      recMount,
      async (dev) => {
        await mkdir(path.join(recMount, "requests"), { recursive: true });
        await writeFile(path.join(recMount, "requests/reset.json"), request);
        return (await sh("blkid", ["-o", "value", "-s", "UUID", dev])).trim();
      },
    );
    const entry = recoveryMenuEntry({
      partition: { fsUuid: recUuid, label: RECOVERY_LABEL },
      source: { kind: "files", ...RECOVERY_ENVIRONMENT_BOOT },
      id: "lifeboat-recovery",
      title: "Recovery (Lifeboat)",
      kernelArgs: [
        "console=ttyS0,115200",
        "lifeboat.mode=unattended",
        "lifeboat.request=/requests/reset.json",
        `lifeboat.digest=${digest}`,
      ],
    });
    await writeFile(path.join(m.boot, "grub2/custom.cfg"), await must(renderGrubScript([entry])));
    await writeFile(
      path.join(m.boot, "grub2/grubenv"),
      renderGrubenv({ next_entry: "lifeboat-recovery" }),
    );
    await m.release();
    const base = path.join(work.mountpoint, "base.img");
    await sh("cp", ["--reflink=always", fx.image, base]);
    // To look at a failing state later: LIFEBOAT_CRASH_KEEP=<dir> keeps the base image and the log.
    const keep = process.env.LIFEBOAT_CRASH_KEEP;

    // ---- 2. record the reset in the recovery environment
    say("step 2: boot the recovery entry with every write and flush logged");
    const logFile = scratch.path("reset-keep-home.log");
    const vm = await boot({
      extraArgs: await writeLogBlockdevArgs(fx.image, logFile),
      timeoutMs: 900_000,
      name: "crash-record-reset-keep-home",
    });
    try {
      await vm.waitFor(/LIFEBOAT-RECOVERY cli-exit=(\d+)/, 600_000);
      await vm.waitForExit(90_000);
    } finally {
      await vm.kill();
    }
    expect(/LIFEBOAT-RECOVERY cli-exit=(\d+)/.exec(vm.output())?.[1], vm.logFile).toBe("0");
    const after = await mountFixture(scratch, fx.image, fx);
    const recorded = await fixtureFingerprints(after);
    await after.release();
    expect(recorded).toEqual({ root: factory.root, home });
    say(`  recorded in ${(vm.elapsedMs() / 1000).toFixed(0)} s (serial log ${vm.logFile})`);

    // ---- 3. replay and check
    if (keep !== undefined) {
      await mkdir(keep, { recursive: true });
      await sh("cp", ["--sparse=always", base, logFile, requestFile, keep]);
      await sh("cp", ["-r", scratch.path("keys"), keep]);
      say(`  kept the base image, the log, the request and the keys in ${keep}`);
    }
    const log = await readWriteLog(logFile);
    const planned = planCrashStates(log, { samplesPerEpoch: SAMPLES, seed: SEED });
    const allSampled = planned.filter((s) => s.kind === "sampled").length;
    const stride = Math.max(1, Math.ceil(allSampled / MAX_SAMPLED));
    let nth = 0;
    const states = planned.filter((s) => s.kind !== "sampled" || nth++ % stride === 0);
    const flushPoints = states.filter((s) => s.kind !== "sampled").length;
    const sampled = states.length - flushPoints;
    say(
      `step 3: log of ${log.entries.length} entries (${log.entries.filter(isDataWrite).length} writes, ${log.entries.filter(isFlush).length} flushes): ${flushPoints} flush points + ${sampled} sampled states (seed ${SEED}, ≤${SAMPLES} per epoch)`,
    );
    const builder = await CrashStateBuilder.create(base, log, work.mountpoint);
    scratch.defer(() => builder.close());
    const verdicts = new Map<string, StateVerdict>();
    const failed: string[] = [];
    const seen = { journal: new Map<string, number>(), root: new Map<string, number>() };
    let distinct = 0;
    const started = Date.now();
    for (const state of states) {
      let v = verdicts.get(state.key);
      if (v === undefined) {
        distinct++;
        const image = await builder.make(state);
        v = await checkResetState(
          image,
          {
            oldRoot: old.root,
            newRoot: factory.root,
            home,
            btrfs: fx.root,
            cli: cliCopy,
            requestFile,
            digest,
            trustedKey: scratch.path("keys/public.pem"),
          },
          scratch.path("check"),
        );
        verdicts.set(state.key, v);
      }
      seen.journal.set(v.journal, (seen.journal.get(v.journal) ?? 0) + 1);
      seen.root.set(v.root, (seen.root.get(v.root) ?? 0) + 1);
      if (v.failures.length > 0)
        failed.push(`state ${state.index} (${state.id}): ${v.failures.join("; ")}`);
    }
    const passed = states.length - failed.length;
    say(
      `reset keeping /home: ${states.length} crash states checked (${flushPoints} flush points + ${sampled} sampled; ${distinct} distinct images, ${((Date.now() - started) / 1000).toFixed(0)} s), ${passed} passed (${((100 * passed) / states.length).toFixed(1)}%)`,
    );
    say(
      `  journal in the states: ${JSON.stringify(Object.fromEntries(seen.journal))}; root: ${JSON.stringify(Object.fromEntries(seen.root))}`,
    );
    expect(failed).toEqual([]);
    // The log spans the whole reset: states before it started, during it and after it.
    expect(seen.journal.get("none") ?? 0).toBeGreaterThan(0);
    expect(seen.journal.get("done") ?? 0).toBeGreaterThan(0);
  }, 1_800_000);
});
