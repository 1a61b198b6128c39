/**
 * Crash states of real recovery operations (issue 22): one boot of the
 * recovery environment in QEMU, on a disk whose every write and flush QEMU's
 * blklogwrites driver logs, runs several operations one after another from
 * its shell (the scheduled reset's `reset run-scheduled`, as the unit that
 * `lifeboat reset schedule` installed runs it at boot; reset keeping /home,
 * reset from the recovery image, full restore, checkpoint create, checkpoint
 * rollback, image install of a second signed set, and the casync update of
 * the installed set to a third: `lifeboat update --manifest … --recovery-root …`
 * into a staging folder on the recovery partition, then `image install` of it,
 * support/update-check.ts), each after a `sync` that marks where it starts
 * in the log. On the host, every flush point and a seeded sample of each epoch's reorderings is made from
 * the log and checked against the operation it falls in (GPT, `btrfs check`,
 * old-or-new root and /home, a readable journal, the recovery command (or
 * the operation's own command, or `resume`) finishing to the operation's
 * result, and for the operations that unpack the recovery image set, that
 * set verifying; for the install, `current` is the old or the new set and
 * verifies, and the install run again finishes to the new one; for the
 * update, the same with the update's commands run again (and no staging
 * folder left); for the scheduled reset, the request is gone only once the journal says done and
 * the next boot's command finishes it; for checkpoint create, the checkpoint
 * is listed complete or not at all and `create` again finishes; /boot passes
 * `e2fsck -fn` in every state of every operation but the install and the update).
 *
 * `gpt add-recovery` is recorded host-side (qemu-storage-daemon's FUSE export,
 * no boot) on a small disk and checked the same way (support/gpt-check.ts);
 * the log of the run that found its crash bug is kept in fixtures/crash and
 * its two torn-table states are checked again in every run.
 *
 * `LIFEBOAT_CRASH_SAMPLES=<n>` samples up to n reorderings per epoch and
 * checks every state (default: 1 per epoch, thinned per operation);
 * `LIFEBOAT_CRASH_SEED` changes the seed (default 22);
 * `LIFEBOAT_CRASH_OPS=<kind,...>` chooses the operations (default: all eight,
 * the scheduled reset, reset keeping /home, reset from the recovery image, full
 * restore, checkpoint create, checkpoint rollback, image install, image update);
 * `LIFEBOAT_CRASH_KEEP=<dir>` keeps the base image, the log, the requests,
 * the operations' boundaries and the keys there, to look at a failing state again.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import { RECOVERY_ENVIRONMENT_BOOT, RECOVERY_ENVIRONMENT_FILES } from "@lifeboat/core/layout";
import { editGrubenv, recoveryMenuEntry, renderGrubScript } from "@lifeboat/grub";
import {
  boot,
  type CrashState,
  CrashStateBuilder,
  createBtrfs,
  exportWithWriteLog,
  fedoraFixture,
  fixtureFingerprints,
  isDataWrite,
  isFlush,
  mountFixture,
  planCrashStates,
  type QemuHandle,
  readWriteLog,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  type WriteLog,
  writeLogBlockdevArgs,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { type CheckpointVerdict, checkCheckpointState } from "./support/checkpoint-check.js";
import { cliBundle, runCli } from "./support/cli-bundle.js";
import {
  checkImageSetState,
  checkOperationState,
  journalOf,
  type StateVerdict,
  withBtrfs,
} from "./support/crash-check.js";
import { addRecovery, checkGptState, partitionList, rangeDigest } from "./support/gpt-check.js";
import { checkInstallState, type InstallVerdict, manifestDigest } from "./support/install-check.js";
import {
  carveRecoveryPartition,
  provisionFixture,
  RECOVERY_LABEL,
  withPartitionMounted,
} from "./support/recovery.js";
import { must, stepLogger } from "./support/steps.js";
import { checkUpdateState, updateCommands, zstdAddonDirs } from "./support/update-check.js";
import { addUserFiles } from "./support/user-files.js";

const runner: CommandRunner = createExecaRunner();
const say = stepLogger("crash-replay");
const OPT_IN = process.env.LIFEBOAT_CRASH_SAMPLES !== undefined;
const SAMPLES = Number(process.env.LIFEBOAT_CRASH_SAMPLES ?? 1);
const SEED = Number(process.env.LIFEBOAT_CRASH_SEED ?? 22);

/** An operation recorded in the one boot, in this order. */
interface Operation {
  readonly kind:
    | "reset-scheduled"
    | "reset-keep-home"
    | "reset-from-recovery"
    | "full-restore"
    | "checkpoint-create"
    | "checkpoint-rollback"
    | "image-install"
    | "image-update";
  readonly stamp: string;
  /** It unpacks the recovery image set: each state's set must verify. */
  readonly readsImageSet: boolean;
  /** The CI run's bound on its states (flush points, sampled); the opt-in run checks all. */
  readonly ci: { readonly flush: number; readonly sampled: number };
}

const ALL_OPERATIONS: readonly Operation[] = [
  // `lifeboat reset schedule` (keep /home) on the host before the boot, then what the unit it
  // installs runs at the next boot, first in the boot: its old root still holds the unit.
  {
    kind: "reset-scheduled",
    stamp: "20261205T030000Z",
    readsImageSet: false,
    ci: { flush: 14, sampled: 4 },
  },
  {
    kind: "reset-keep-home",
    stamp: "20261205T040000Z",
    readsImageSet: false,
    ci: { flush: Number.POSITIVE_INFINITY, sampled: 10 },
  },
  // Each of these unpacks the ~780 MB image set, in the guest and again in each state's recovery.
  {
    kind: "reset-from-recovery",
    stamp: "20261205T050000Z",
    readsImageSet: true,
    ci: { flush: 3, sampled: 1 },
  },
  {
    kind: "full-restore",
    stamp: "20261205T060000Z",
    readsImageSet: true,
    // Recorded in ~60 s at low load; each state's recovery unpacks the set again (~3 s).
    ci: { flush: 4, sampled: 1 },
  },
  // `lifeboat checkpoint create --name crash-cc` of the root the previous operations left.
  {
    kind: "checkpoint-create",
    stamp: "20261205T065000Z",
    readsImageSet: false,
    ci: { flush: 12, sampled: 4 },
  },
  // `lifeboat checkpoint rollback` (a recovery request carries no checkpoint id): the checkpoint
  // is taken in the guest before the operation's range, then root changes, then the rollback.
  {
    kind: "checkpoint-rollback",
    stamp: "20261205T070000Z",
    readsImageSet: false,
    // 76 flush points + 42 sampled planned; ~6 s a state at a load of 10.
    ci: { flush: 8, sampled: 2 },
  },
  // `lifeboat image install <set> --disk …` of a second signed set (small: a 16 MiB tree),
  // last: it unmounts the recovery partition the environment mounted read-only.
  {
    kind: "image-install",
    stamp: "20261205T080000Z",
    readsImageSet: false,
    // 31 flush points + 7 sampled planned; ~4 s a state at a load of 10.
    ci: { flush: 8, sampled: 2 },
  },
  // The casync update of the installed set (support/update-check.ts): `lifeboat update
  // --manifest … --recovery-root …` of a third signed set, its payload assembled from the
  // installed set's chunks and the release's store into a staging folder on the recovery
  // partition, then `image install` of it; last (after the install, or its set installed first).
  {
    kind: "image-update",
    stamp: "20261205T090000Z",
    readsImageSet: false,
    ci: { flush: 14, sampled: 4 },
  },
];
/** Operations whose start the guest prepares (writes before it that are no state of it). */
const PREPARED = new Set<Operation["kind"]>([
  "checkpoint-rollback",
  "image-install",
  "image-update",
]);
/** The recovery partition `gpt add-recovery` adds to the small disk. */
const GPT_RECOVERY_SIZE = "64M";
/** The checkpoint the rollback goes back to. */
const CHECKPOINT = "crash-cp";
/** The checkpoint `checkpoint create` takes as a recorded operation, and its reason. */
const CREATED = { name: "crash-cc", reason: "crash replay: the recorded create" };
// Every operation, in CI too (each capped by its `ci` budget; the opt-in run checks every state).
const DEFAULT_OPERATIONS =
  "reset-scheduled,reset-keep-home,reset-from-recovery,full-restore,checkpoint-create,checkpoint-rollback,image-install,image-update";
const OPERATIONS = ALL_OPERATIONS.filter((o) =>
  (process.env.LIFEBOAT_CRASH_OPS ?? DEFAULT_OPERATIONS).split(",").includes(o.kind),
);

/** A set checker's verdict (install, update) as every operation reports one: no journal. */
function setVerdict(checked: InstallVerdict, recovery: string): StateVerdict {
  const root = checked.current === "old" || checked.current === "new" ? checked.current : "other";
  return { failures: checked.failures, journal: "none", root, recovery };
}

/** The CLI arguments of the rollback (the checker adds `--disk <state>`). */
const rollbackArgs = (o: Operation) => ["checkpoint", "rollback", CHECKPOINT, "--stamp", o.stamp];

/** Run `command` in the guest's shell (serial console); its exit code and what it printed. */
function guestShell(vm: QemuHandle) {
  let n = 0;
  return async (command: string, timeoutMs = 300_000): Promise<{ rc: number; out: string }> => {
    n += 1;
    const tag = `@@${n}@@`;
    const begin = vm.output().length;
    await vm.send(`${command}; echo "${tag} rc=$?"\r`);
    const m = await vm.waitFor(new RegExp(`${tag} rc=(\\d+)`), timeoutMs);
    return { rc: Number(m[1]), out: vm.output().slice(begin) };
  };
}

/** The last log entry a state depends on, plus one. */
const reach = (s: CrashState) => Math.max(s.prefix, ...s.extra.map((i) => i + 1));

/** Every `stride`-th item, always with the first and the last. */
function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const stride = Math.ceil(items.length / Math.max(1, max - 1));
  return items.filter((_, i) => i % stride === 0 || i === items.length - 1);
}

/** Data writes among a state's entries that land in `range` (bytes): the same count, the same bytes there. */
function writesInto(
  log: WriteLog,
  s: CrashState,
  range: { offsetBytes: number; sizeBytes: number },
): string {
  const hits = (i: number) => {
    const e = log.entries[i];
    return (
      e !== undefined &&
      isDataWrite(e) &&
      e.diskOffset < range.offsetBytes + range.sizeBytes &&
      e.diskOffset + e.bytes > range.offsetBytes
    );
  };
  let n = 0;
  for (let i = 0; i < s.prefix; i++) if (hits(i)) n++;
  return `${n}+${s.extra.filter(hits).join(",")}`;
}

/** The kept crash-state fixtures (small: a log and a description). */
const FIXTURES = path.join(import.meta.dirname, "fixtures/crash");
/** The states of the kept GPT log that failed before the fix (seed 22, 1 sample per epoch). */
const GPT_REGRESSION_STATES = ["flush-1", "epoch-2-sample-1"];

/** A copy of the CLI bundle for the checker (a rebuild meanwhile would empty dist/). */
async function cliCopyIn(scratch: Scratch): Promise<string> {
  const bundle = await cliBundle(say);
  const copy = scratch.path("lifeboat-standalone.mjs");
  await sh("cp", [bundle, copy]);
  return copy;
}

/**
 * `lifeboat reset schedule` (keep /home, `stamp`) on the fixture mounted on the host, as on the
 * running system (`--system-root` its root, `--boot` its /boot; the entry as a BLS file: the
 * recovery environment that runs the unit's command in the recording has no grub-script-check
 * for a custom.cfg block). Returns the command of the unit it installed, after its program:
 * `reset run-scheduled --digest sha256:…`.
 */
async function scheduleReset(
  bundle: string,
  m: { btrfsTop: string; boot: string },
  stamp: string,
): Promise<string[]> {
  const systemRoot = path.join(m.btrfsTop, "root");
  const out = await runCli(bundle, [
    "reset",
    "schedule",
    "--system-root",
    systemRoot,
    "--boot",
    m.boot,
    "--stamp",
    stamp,
    "--grub-menu",
    "bls",
    "--json",
  ]);
  const doc = JSON.parse(out) as { data: { digest: string; plannedNow: { steps: number } } };
  const unit = await readFile(
    path.join(systemRoot, "etc/systemd/system/lifeboat-factory-reset.service"),
    "utf8",
  );
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(" ") ?? [];
  expect(execStart.slice(0, 3)).toEqual(["/usr/bin/lifeboat", "reset", "run-scheduled"]);
  expect(execStart.at(-1)).toBe(doc.data.digest);
  say(
    `  reset scheduled: ${doc.data.plannedNow.steps} steps; the unit runs ${execStart.join(" ")}`,
  );
  return execStart.slice(1);
}

/** The byte range of partition `n` of `disk`, as sgdisk reads it. */
async function partitionRange(disk: string, n: number) {
  const info = await sh("sgdisk", ["-i", String(n), disk]);
  const first = Number(/First sector: (\d+)/.exec(info)?.[1]);
  const last = Number(/Last sector: (\d+)/.exec(info)?.[1]);
  return { offsetBytes: first * 512, sizeBytes: (last - first + 1) * 512 };
}

/**
 * The disk `gpt add-recovery` edits: 256 MiB, an ESP-typed partition of 32 MiB and a Linux one
 * of 96 MiB (fixed GUIDs, so a kept log replays onto it), 120 MiB free; the partitions full of
 * random bytes (or zeros). Returns the partitions' ranges and digests.
 */
async function makeGptDisk(disk: string, options: { random: boolean }) {
  await sh("truncate", ["-s", "256M", disk]);
  await sh("sgdisk", [
    "-U",
    "5e0c22a1-0000-4000-8000-000000000022",
    "-n",
    "1:2048:+32M",
    "-t",
    "1:ef00",
    "-u",
    "1:5e0c22a1-0001-4000-8000-000000000022",
    "-n",
    "2:0:+96M",
    "-t",
    "2:8300",
    "-u",
    "2:5e0c22a1-0002-4000-8000-000000000022",
    disk,
  ]);
  const data = [];
  for (const n of [1, 2]) {
    const range = await partitionRange(disk, n);
    if (options.random) {
      const fh = await open(disk, "r+");
      try {
        for (let at = 0; at < range.sizeBytes; at += 4 * 1024 ** 2)
          await fh.write(
            randomBytes(Math.min(4 * 1024 ** 2, range.sizeBytes - at)),
            0,
            undefined,
            range.offsetBytes + at,
          );
      } finally {
        await fh.close();
      }
    }
    data.push({ range, sha256: await rangeDigest(disk, range) });
  }
  return data;
}

/**
 * Check `states` (in plan order) of a `gpt add-recovery` log made on `base`: the tables before
 * and after are the base's and the whole log's. Per state: failures, and a tally of
 * table/filesystem/what the command did again/how the filesystem came.
 */
async function checkGptStates(
  scratch: Scratch,
  workDir: string,
  base: string,
  log: WriteLog,
  data: Awaited<ReturnType<typeof makeGptDisk>>,
  cli: string,
  states: readonly CrashState[],
) {
  const wholeDir = path.join(workDir, "whole");
  await mkdir(wholeDir, { recursive: true });
  const end = await CrashStateBuilder.create(base, log, wholeDir);
  scratch.defer(() => end.close());
  const whole = await end.make({
    index: 0,
    kind: "flush",
    id: "whole",
    epoch: 0,
    prefix: log.entries.length,
    extra: [],
    key: "",
  });
  const want = {
    oldTable: await partitionList(base),
    newTable: await partitionList(whole),
    data,
    recovery: await partitionRange(whole, 3),
    cli,
    size: GPT_RECOVERY_SIZE,
  };
  expect(want.newTable).not.toBe(want.oldTable);
  const builder = await CrashStateBuilder.create(base, log, workDir);
  scratch.defer(() => builder.close());
  const failed: string[] = [];
  const tally = new Map<string, number>();
  let flush = 0;
  let sampled = 0;
  for (const state of states) {
    if (state.kind === "sampled") sampled++;
    else flush++;
    const v = await checkGptState(await builder.make(state), want);
    const key = `${v.table}/${v.fs}/${v.again}/${v.formatted}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    if (v.failures.length > 0)
      failed.push(`state ${state.index} (${state.id}): ${v.failures.join("; ")}`);
  }
  return { failed, tally, flush, sampled };
}

describe("crash states replayed from a block-level write log", () => {
  const scratches: Scratch[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.cleanup();
  });

  it(`${OPERATIONS.map((o) => o.kind).join(", ")}: every flush point and sampled reorderings pass the checker`, async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "mkfs.btrfs", "btrfs", "sgdisk", "blkid", "cc", "zstd");
    expect(OPERATIONS.length).toBeGreaterThan(0);
    const scratch = await Scratch.create("lifeboat-crash-");
    scratches.push(scratch);
    const testStarted = Date.now();

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
    const recoveryRange = {
      offsetBytes: Number(layout.recovery.firstLba) * 512,
      sizeBytes: Number(layout.recovery.lastLba - layout.recovery.firstLba + 1n) * 512,
    };
    await provisionFixture(bundle, fx.image, { build: fx.key, keysDir: scratch.path("keys") });
    const trustedKey = scratch.path("keys/public.pem");
    const installs = OPERATIONS.some((o) => o.kind === "image-install");
    const updates = OPERATIONS.some((o) => o.kind === "image-update");
    // The second signed set the install puts on the recovery partition (the update's old set).
    const set2 = scratch.path("set2");
    const src = scratch.path("set2-src");
    if (installs || updates) {
      await mkdir(path.join(src, "payload"), { recursive: true });
      await writeFile(path.join(src, "payload/random.bin"), randomBytes(16 * 1024 ** 2));
      await writeFile(path.join(src, "README"), "the second recovery image set\n");
      await runCli(bundle, [
        "image",
        "build",
        src,
        "--out",
        set2,
        "--product",
        "Fedora-shaped fixture",
        "--version",
        "crash-2",
        "--key",
        scratch.path("keys/private.pem"),
      ]);
    }
    const newManifest =
      installs || updates ? await manifestDigest(path.join(set2, "manifest.json")) : "";
    // The update's release: a third set, its payload 1 MiB different from the second's, published
    // as casync publishes (`casync make`: index and store) beside its signed manifest.
    const release = scratch.path("release3");
    const updateCli = scratch.path("update-cli/lifeboat-standalone.mjs");
    let updateManifest = "";
    if (updates) {
      const fh = await open(path.join(src, "payload/random.bin"), "r+");
      try {
        await fh.write(randomBytes(1024 ** 2), 0, undefined, 8 * 1024 ** 2);
      } finally {
        await fh.close();
      }
      await writeFile(path.join(src, "README"), "the third recovery image set\n");
      const set3 = scratch.path("set3");
      await runCli(bundle, [
        "image",
        "build",
        src,
        "--out",
        set3,
        "--product",
        "Fedora-shaped fixture",
        "--version",
        "crash-3",
        "--key",
        scratch.path("keys/private.pem"),
      ]);
      updateManifest = await manifestDigest(path.join(set3, "manifest.json"));
      await mkdir(release);
      for (const f of ["manifest.json", "manifest.json.sig", "root.squashfs.verity"])
        await sh("cp", [path.join(set3, f), release]);
      await sh("casync", [
        "make",
        `--store=${path.join(release, "default.castr")}`,
        path.join(release, "root.caibx"),
        path.join(set3, "root.squashfs"),
      ]);
      // On the host (the checker updates each state again), `lifeboat update` needs the
      // native zstd addon beside the one-file CLI (docs/cli.md).
      await mkdir(path.join(path.dirname(updateCli), "node_modules/@mongodb-js"), {
        recursive: true,
      });
      await sh("cp", [cliCopy, updateCli]);
      for (const d of await zstdAddonDirs())
        await sh("cp", ["-rL", d, path.join(path.dirname(updateCli), "node_modules/@mongodb-js")]);
    }

    // The system to replace differs from the factory one; the user has files in /home.
    const m = await mountFixture(scratch, fx.image, fx);
    const factory = await fixtureFingerprints(m);
    await writeFile(path.join(m.btrfsTop, "root/etc/lifeboat-crash-old"), "the old system\n");
    const home = await addUserFiles(m, fx.user);
    // The reset at the next boot, scheduled as a person does on the running system (here its
    // root and /boot mounted on the host); the recording runs what the unit it installs runs.
    const scheduled = OPERATIONS.find((o) => o.kind === "reset-scheduled");
    const unitArgs = scheduled ? await scheduleReset(bundle, m, scheduled.stamp) : [];
    // The guest copies the set and the key from here (top level: neither root nor /home).
    if (installs || updates) {
      await sh("cp", ["-r", set2, path.join(m.btrfsTop, "crash-set2")]);
      await sh("cp", [trustedKey, path.join(m.btrfsTop, "crash-set2.pem")]);
    }
    if (updates) {
      await mkdir(path.join(m.btrfsTop, "crash-update"));
      await sh("cp", ["-r", release, path.join(m.btrfsTop, "crash-update/release")]);
    }
    const old = await fixtureFingerprints(m);
    expect(old.root).not.toBe(factory.root);

    // The requests (one per operation) on the recovery partition, and a one-shot GRUB entry
    // to the recovery environment's shell. The rollback runs as its own command; its request
    // is written only as a record of what it was (a recovery request carries no checkpoint).
    const requests = OPERATIONS.map((o) => {
      const text = `${JSON.stringify(
        o.kind === "checkpoint-rollback"
          ? { kind: "rollback", checkpoint: CHECKPOINT, stamp: o.stamp }
          : o.kind === "checkpoint-create"
            ? { kind: "checkpoint-create", ...CREATED }
            : o.kind === "reset-scheduled"
              ? { kind: "reset-keep-home", stamp: o.stamp } // as `reset schedule` wrote it
              : { kind: o.kind, stamp: o.stamp },
      )}\n`;
      return {
        text,
        name: `${o.kind}.json`,
        file: scratch.path(`${o.kind}.json`),
        digest: `sha256:${createHash("sha256").update(text).digest("hex")}`,
      };
    });
    for (const r of requests) await writeFile(r.file, r.text);
    const scheduledRequest = requests[OPERATIONS.findIndex((o) => o.kind === "reset-scheduled")];
    if (scheduled !== undefined)
      // The unit checks the request the top level holds against this digest.
      expect(unitArgs.at(-1)).toBe(scheduledRequest?.digest);
    const recMount = scratch.path("recovery");
    let oldManifest = "";
    const recUuid = await withPartitionMounted(
      runner,
      fx.image,
      layout.recovery,
      recMount,
      async (dev) => {
        await mkdir(path.join(recMount, "requests"), { recursive: true });
        for (const r of requests) await writeFile(path.join(recMount, "requests", r.name), r.text);
        oldManifest = await manifestDigest(path.join(recMount, "current", "manifest.json"));
        return (await sh("blkid", ["-o", "value", "-s", "UUID", dev])).trim();
      },
    );
    const entry = recoveryMenuEntry({
      partition: { fsUuid: recUuid, label: RECOVERY_LABEL },
      source: { kind: "files", ...RECOVERY_ENVIRONMENT_BOOT },
      id: "lifeboat-recovery",
      title: "Recovery (Lifeboat)",
      kernelArgs: ["console=ttyS0,115200", "lifeboat.shell", "lifeboat.after=poweroff"],
    });
    await writeFile(path.join(m.boot, "grub2/custom.cfg"), await must(renderGrubScript([entry])));
    // One boot of the recovery environment; grubenv's other variables (the scheduled reset's
    // saved_entry) stay, as `grub-reboot` leaves them.
    await must(
      editGrubenv(path.join(m.boot, "grub2/grubenv"), { next_entry: "lifeboat-recovery" }),
    );
    await m.release();
    const base = path.join(work.mountpoint, "base.img");
    await sh("cp", ["--reflink=always", fx.image, base]);
    const keep = process.env.LIFEBOAT_CRASH_KEEP;

    // ---- 2. record the operations in one boot of the recovery environment
    say(
      `step 2: boot the recovery environment with every write and flush logged; run ${OPERATIONS.map((o) => o.kind).join(", ")}`,
    );
    const logFile = scratch.path("operations.log");
    const entriesNow = async () => (await readWriteLog(logFile, { live: {} })).entries.length;
    const bounds: { start: number; end: number; seconds: number }[] = [];
    const vm = await boot({
      extraArgs: await writeLogBlockdevArgs(fx.image, logFile),
      timeoutMs: 3_000_000,
      name: "crash-record-operations",
    });
    try {
      await vm.waitFor("LIFEBOAT-RECOVERY shell", 600_000);
      const run = guestShell(vm);
      const ok = async (command: string, timeoutMs?: number) => {
        const r = await run(command, timeoutMs);
        if (r.rc !== 0)
          throw new Error(
            `guest: ${command} exited ${r.rc}\n${r.out.slice(-2500)}\n(log ${vm.logFile})`,
          );
        return r.out;
      };
      await ok("stty -echo; export NO_COLOR=1");
      // What `lifeboat recovery` does for itself: the Btrfs helpers from the recovery partition.
      await ok(
        `export LIFEBOAT_EXCH_HELPER="$LIFEBOAT_RECOVERY_MOUNT/${RECOVERY_ENVIRONMENT_FILES.exchangeHelper}" LIFEBOAT_AGENT_HELPER="$LIFEBOAT_RECOVERY_MOUNT/${RECOVERY_ENVIRONMENT_FILES.agentHelper}"`,
      );
      const btrfsDev = `/dev/vda${fx.root.number}`;
      const markRoot = (text: string) =>
        ok(
          `mkdir -p /mnt/t && mount -t btrfs ${btrfsDev} /mnt/t && echo '${text}' > /mnt/t/root/etc/lifeboat-crash-old && umount /mnt/t`,
        );
      for (const [k, o] of OPERATIONS.entries()) {
        const r = requests[k];
        if (r === undefined) throw new Error("no request");
        if (o.kind === "checkpoint-rollback") {
          // The checkpoint's root differs from the one the rollback replaces.
          await markRoot(`checkpoint ${CHECKPOINT}`);
          await ok(
            `node /lifeboat/cli.js checkpoint create --disk "$LIFEBOAT_DISK" --name ${CHECKPOINT} --reason 'crash replay' </dev/null`,
          );
        }
        // The system this operation replaces differs from what the previous one left.
        if (
          (k > 0 && o.kind !== "image-install" && o.kind !== "image-update") ||
          o.kind === "checkpoint-rollback"
        )
          await markRoot(`before ${o.kind}`);
        if (o.kind === "reset-scheduled")
          // Where that boot has them: root as /, /boot on it.
          await ok(
            `mkdir -p /mnt/sys && mount -t btrfs -o subvol=root ${btrfsDev} /mnt/sys && mount -t ext4 /dev/vda${fx.boot.number} /mnt/sys/boot`,
          );
        if (o.kind === "image-install")
          // The set from the Btrfs to the RAM; the recovery partition free for the install.
          await ok(
            `mkdir -p /mnt/s && mount -t btrfs -o ro ${btrfsDev} /mnt/s && cp -r /mnt/s/crash-set2 /tmp/set2 && cp /mnt/s/crash-set2.pem /tmp/set2.pem && umount /mnt/s && umount "$LIFEBOAT_RECOVERY_MOUNT"`,
          );
        if (o.kind === "image-update") {
          // The release from the Btrfs to the RAM. The CLI runs as the environment has it:
          // `provision` built it with the zstd addon `lifeboat update` loads beside the CLI.
          await ok(
            `mkdir -p /mnt/s && mount -t btrfs -o ro ${btrfsDev} /mnt/s && cp -r /mnt/s/crash-update /tmp/update && cp /mnt/s/crash-set2.pem /tmp/set2.pem && ${installs ? "" : "cp -r /mnt/s/crash-set2 /tmp/set2 && "}umount /mnt/s`,
          );
          if (!installs)
            // The update's old set installed first (no state of the update).
            await ok(
              `umount "$LIFEBOAT_RECOVERY_MOUNT" && node /lifeboat/cli.js image install /tmp/set2 --trusted-key /tmp/set2.pem --disk "$LIFEBOAT_DISK" </dev/null`,
            );
          await ok(`mkdir -p /mnt/rec && mount -t ext4 "$LIFEBOAT_RECOVERY_DEVICE" /mnt/rec`);
        }
        const command =
          o.kind === "checkpoint-rollback"
            ? `node /lifeboat/cli.js ${rollbackArgs(o).join(" ")} --disk "$LIFEBOAT_DISK" --yes --confirm "$D" </dev/null`
            : o.kind === "checkpoint-create"
              ? `node /lifeboat/cli.js checkpoint create --disk "$LIFEBOAT_DISK" --name ${CREATED.name} --reason '${CREATED.reason}' </dev/null`
              : o.kind === "reset-scheduled"
                ? `node /lifeboat/cli.js ${unitArgs.join(" ")} --system-root /mnt/sys --boot /mnt/sys/boot </dev/null`
                : o.kind === "image-install"
                  ? `node /lifeboat/cli.js image install /tmp/set2 --trusted-key /tmp/set2.pem --disk "$LIFEBOAT_DISK" </dev/null`
                  : o.kind === "image-update"
                    ? `(${updateCommands({
                        cli: ["node", "/lifeboat/cli.js"],
                        release: "/tmp/update/release",
                        recoveryRoot: "/mnt/rec",
                        trustedKey: "/tmp/set2.pem",
                      })
                        .map((c) => c.join(" "))
                        .join(" && ")}) </dev/null`
                    : `node /lifeboat/cli.js recovery --request "$LIFEBOAT_RECOVERY_MOUNT/requests/${r.name}" --digest ${r.digest} --disk "$LIFEBOAT_DISK" </dev/null`;
        if (o.kind === "checkpoint-rollback") {
          // Its plan digest, as a person reads it before typing it (a dry run writes nothing).
          await ok(
            `node /lifeboat/cli.js ${rollbackArgs(o).join(" ")} --disk "$LIFEBOAT_DISK" --dry-run --json </dev/null > /tmp/rollback.json`,
          );
          await ok(
            `D=$(node -p 'JSON.parse(require("fs").readFileSync("/tmp/rollback.json", "utf8")).data.plan.digest') && echo "digest $D"`,
          );
        }
        await ok("sync");
        const start = await entriesNow();
        const t = Date.now();
        // A failed update once had not returned in the guest minutes after its error: 10 minutes.
        await ok(command, o.kind === "image-update" ? 600_000 : 1_500_000);
        if (o.kind === "reset-scheduled") await ok("umount /mnt/sys/boot /mnt/sys");
        if (o.kind === "image-update") await ok("umount /mnt/rec");
        await ok("sync");
        bounds.push({ start, end: await entriesNow(), seconds: (Date.now() - t) / 1000 });
        say(
          `  ${o.kind}: log entries ${start}..${bounds.at(-1)?.end} in ${bounds.at(-1)?.seconds.toFixed(0)} s`,
        );
      }
      await vm.send("poweroff -f\r");
      await vm.waitForExit(120_000);
    } finally {
      await vm.kill();
    }
    say(`  recorded in ${(vm.elapsedMs() / 1000).toFixed(0)} s (serial log ${vm.logFile})`);

    if (keep !== undefined) {
      await mkdir(keep, { recursive: true });
      await writeFile(path.join(keep, "bounds.json"), JSON.stringify(bounds, null, 2));
      await sh("cp", ["--sparse=always", base, logFile, ...requests.map((r) => r.file), keep]);
      await sh("cp", ["-r", scratch.path("keys"), keep]);
      say(`  kept the base image, the log, the requests, the bounds and the keys in ${keep}`);
    }

    // ---- 3. each operation's before and after, as the log has them
    const log = await readWriteLog(logFile);
    const boundsDir = path.join(work.mountpoint, "bounds");
    await mkdir(boundsDir, { recursive: true });
    const at = await CrashStateBuilder.create(base, log, boundsDir);
    scratch.defer(() => at.close());
    const snapshot = async (prefix: number) => {
      const image = await at.make({
        index: 0,
        kind: "flush",
        id: `at-${prefix}`,
        epoch: 0,
        prefix,
        extra: [],
        key: "",
      });
      return withBtrfs(image, fx.root, scratch.path("bounds-mnt"), async (top) => ({
        ...(await fixtureFingerprints({ btrfsTop: top })),
        journal: await journalOf(top),
      }));
    };
    const edges = [];
    for (const b of bounds)
      edges.push({ before: await snapshot(b.start), after: await snapshot(b.end) });
    for (const [k, e] of edges.entries()) {
      const kind = OPERATIONS[k]?.kind;
      if (kind === "checkpoint-create" || kind === "image-install" || kind === "image-update") {
        // No journal: the create only adds (.lifeboat/checkpoints/crash-cc); the install and the
        // update change only the recovery partition. Root, /home and the journal as they were.
        expect(e.after.journal, kind).toEqual(e.before.journal);
        expect(e.after.root, kind).toBe(e.before.root);
        expect(e.after.home, kind).toBe(e.before.home);
        continue;
      }
      expect(e.after.journal.status, kind).toBe("done");
      if (kind === "checkpoint-rollback") {
        // Back to the checkpoint's tree, not the factory's; /home as it was.
        expect(e.after.root, kind).not.toBe(e.before.root);
        expect(e.after.root, kind).not.toBe(factory.root);
        expect(e.after.home, kind).toBe(e.before.home);
      } else expect(e.after.root, kind).toBe(factory.root);
    }
    expect(edges[0]?.before.home).toBe(home);
    if (OPERATIONS[0]?.kind !== "checkpoint-rollback") expect(edges[0]?.before.root).toBe(old.root);

    // ---- 4. replay and check, operation by operation
    const planned = planCrashStates(log, { samplesPerEpoch: SAMPLES, seed: SEED });
    say(
      `step 3: log of ${log.entries.length} entries (${log.entries.filter(isDataWrite).length} writes, ${log.entries.filter(isFlush).length} flushes), ${planned.length} states planned (seed ${SEED}, ≤${SAMPLES} sampled per epoch)`,
    );
    const perOp = OPERATIONS.map(() => ({
      planned: "",
      flush: 0,
      sampled: 0,
      failed: [] as string[],
      journal: new Map<string, number>(),
      root: new Map<string, number>(),
      tally: new Map<string, number>(),
      setChecks: 0,
      ms: 0,
    }));
    const chosen = new Map<number, number>(); // state index -> operation
    const report: string[] = [];
    for (const [k, o] of OPERATIONS.entries()) {
      const b = bounds[k];
      if (b === undefined) continue;
      const mine = planned.filter((s) => {
        const r = reach(s);
        // The boot's own writes count as the first operation's "not started" states. An operation
        // the guest prepares (the checkpoint, the set to install) starts at the sync after that:
        // that state is its "not started" one, the writes before it no state of it.
        if (PREPARED.has(o.kind)) return r >= b.start && r <= b.end;
        return (k === 0 || r > b.start) && r <= b.end;
      });
      const flushes = mine.filter((s) => s.kind !== "sampled");
      const sampled = mine.filter((s) => s.kind === "sampled");
      const p = perOp[k];
      if (p !== undefined) p.planned = `${flushes.length} flush points + ${sampled.length} sampled`;
      const pick = OPT_IN
        ? [...flushes, ...sampled]
        : [...thin(flushes, o.ci.flush), ...thin(sampled, o.ci.sampled)];
      for (const s of pick) chosen.set(s.index, k);
    }
    const builder = await CrashStateBuilder.create(base, log, work.mountpoint);
    scratch.defer(() => builder.close());
    const verdicts = new Map<
      string,
      StateVerdict & { checkpoint?: CheckpointVerdict["checkpoint"] }
    >();
    const setVerdicts = new Map<string, string[]>();
    for (const state of planned) {
      const k = chosen.get(state.index);
      if (k === undefined) continue;
      const o = OPERATIONS[k];
      const stats = perOp[k];
      const r = requests[k];
      const e = edges[k];
      if (o === undefined || stats === undefined || r === undefined || e === undefined) continue;
      const t = Date.now();
      if (state.kind === "sampled") stats.sampled++;
      else stats.flush++;
      let v = verdicts.get(state.key);
      if (v === undefined && o.kind === "image-install") {
        const checked = await checkInstallState(
          await builder.make(state),
          {
            recovery: recoveryRange,
            oldManifest,
            newManifest,
            set: set2,
            cli: cliCopy,
            trustedKey,
          },
          scratch.path("check"),
        );
        v = setVerdict(checked, "install");
        verdicts.set(state.key, v);
      }
      if (v === undefined && o.kind === "image-update") {
        const checked = await checkUpdateState(
          await builder.make(state),
          {
            recovery: recoveryRange,
            oldManifest: newManifest,
            newManifest: updateManifest,
            cli: cliCopy,
            trustedKey,
            release,
            updateCli,
          },
          scratch.path("check"),
        );
        v = setVerdict(checked, "update");
        verdicts.set(state.key, v);
      }
      if (v === undefined && o.kind === "checkpoint-create") {
        const checked = await checkCheckpointState(
          await builder.make(state),
          {
            ...CREATED,
            root: e.before.root,
            home: e.before.home,
            btrfs: fx.root,
            boot: fx.boot,
            cli: cliCopy,
          },
          scratch.path("check"),
        );
        v = {
          failures: checked.failures,
          journal: "none",
          root: "old",
          recovery: "checkpoint",
          checkpoint: checked.checkpoint,
        };
        verdicts.set(state.key, v);
      }
      if (v === undefined) {
        const image = await builder.make(state);
        const setFailures: string[] = [];
        if (o.readsImageSet) {
          const setKey = writesInto(log, state, recoveryRange);
          let f = setVerdicts.get(setKey);
          if (f === undefined) {
            f = await checkImageSetState(
              image,
              recoveryRange,
              cliCopy,
              trustedKey,
              scratch.path("check"),
            );
            setVerdicts.set(setKey, f);
            stats.setChecks++;
          }
          setFailures.push(...f);
        }
        const checked = await checkOperationState(
          image,
          {
            oldRoot: e.before.root,
            newRoot: e.after.root,
            oldHome: e.before.home,
            newHome: e.after.home,
            doneDigest: e.after.journal.digest ?? "?",
            btrfs: fx.root,
            cli: cliCopy,
            trustedKey,
            boot: fx.boot,
            ...(o.kind === "checkpoint-rollback"
              ? { command: rollbackArgs(o) }
              : o.kind === "reset-scheduled"
                ? { scheduled: { unitArgs } }
                : { requestFile: r.file, digest: r.digest }),
          },
          scratch.path("check"),
        );
        v = { ...checked, failures: [...setFailures, ...checked.failures] };
        verdicts.set(state.key, v);
      }
      if (o.kind !== "image-install" && o.kind !== "image-update" && o.kind !== "checkpoint-create")
        stats.journal.set(v.journal, (stats.journal.get(v.journal) ?? 0) + 1);
      stats.root.set(v.root, (stats.root.get(v.root) ?? 0) + 1);
      const tally = v.schedule !== undefined ? `${v.schedule}/${v.recovery}` : v.checkpoint;
      if (tally !== undefined) stats.tally.set(tally, (stats.tally.get(tally) ?? 0) + 1);
      if (v.failures.length > 0)
        stats.failed.push(`state ${state.index} (${state.id}): ${v.failures.join("; ")}`);
      stats.ms += Date.now() - t;
      if ((stats.flush + stats.sampled) % 10 === 0)
        say(`  ${o.kind}: ${stats.flush + stats.sampled} states, ${stats.failed.length} failed`);
    }
    for (const [k, o] of OPERATIONS.entries()) {
      const s = perOp[k];
      if (s === undefined) continue;
      const n = s.flush + s.sampled;
      const passed = n - s.failed.length;
      const line = `${o.kind}: ${n} crash states checked (${s.flush} flush points + ${s.sampled} sampled, of ${s.planned} planned), ${passed} passed (${((100 * passed) / Math.max(1, n)).toFixed(1)}%) in ${(s.ms / 1000).toFixed(0)} s; recorded in ${bounds[k]?.seconds.toFixed(0)} s; ${o.kind === "image-install" || o.kind === "image-update" ? "current set" : `journal ${JSON.stringify(Object.fromEntries(s.journal))}; root`} ${JSON.stringify(Object.fromEntries(s.root))}${o.readsImageSet ? `; image set verified ${s.setChecks}×` : ""}${s.tally.size > 0 ? `; ${o.kind === "checkpoint-create" ? "checkpoint" : "request/next boot"} ${JSON.stringify(Object.fromEntries(s.tally))}` : ""}`;
      report.push(line);
      say(line);
    }
    say(`whole test ${((Date.now() - testStarted) / 1000).toFixed(0)} s`);
    for (const [k, o] of OPERATIONS.entries()) {
      const s = perOp[k];
      if (s === undefined) continue;
      expect(s.failed, o.kind).toEqual([]);
      expect(s.flush, o.kind).toBeGreaterThan(0);
      if (o.kind === "checkpoint-create") {
        // The states span the create: the checkpoint not there yet, and complete.
        expect(s.tally.get("absent") ?? 0, o.kind).toBeGreaterThan(0);
        expect(s.tally.get("complete") ?? 0, o.kind).toBeGreaterThan(0);
        continue;
      }
      if (o.kind === "image-install" || o.kind === "image-update") {
        // The states span the switch: the old set current, and the new one.
        expect(s.root.get("old") ?? 0, o.kind).toBeGreaterThan(0);
        expect(s.root.get("new") ?? 0, o.kind).toBeGreaterThan(0);
        continue;
      }
      // The states span the operation: before it started and after it finished.
      expect(
        (s.journal.get("none") ?? 0) + (s.journal.get("earlier") ?? 0),
        o.kind,
      ).toBeGreaterThan(0);
      expect(s.journal.get("done") ?? 0, o.kind).toBeGreaterThan(0);
    }
  }, 3_600_000);

  // The GPT edit runs where a person runs it, on the installed system or a build host, not in
  // the recovery environment (which boots from the partition it adds): recorded host-side
  // through qemu-storage-daemon's FUSE export, no boot.
  it("gpt add-recovery: every flush point and sampled reorderings pass the checker", async () => {
    requireRoot();
    requireTools("qemu-storage-daemon", "mkfs.btrfs", "sgdisk", "blkid", "mkfs.ext4");
    const scratch = await Scratch.create("lifeboat-crash-gpt-");
    scratches.push(scratch);
    const started = Date.now();
    const work = await createBtrfs(scratch, { bytes: 4 * 1024 ** 3, name: "work.img" });
    const cli = await cliCopyIn(scratch);
    const disk = path.join(work.mountpoint, "disk.img");
    const data = await makeGptDisk(disk, { random: true });
    const base = path.join(work.mountpoint, "base.img");
    await sh("cp", ["--reflink=always", disk, base]);

    say("gpt add-recovery: recorded host-side (qemu-storage-daemon, blklogwrites)");
    const logFile = scratch.path("gpt.log");
    const recorder = await Scratch.create("lifeboat-crash-gpt-rec-");
    let seconds = 0;
    try {
      const exported = await exportWithWriteLog(recorder, disk, logFile);
      const t = Date.now();
      const r = await addRecovery(cli, exported, GPT_RECOVERY_SIZE);
      if (!r.ok) throw new Error(`gpt add-recovery: ${r.code}: ${r.text}`);
      seconds = (Date.now() - t) / 1000;
    } finally {
      await recorder.cleanup(); // stops the daemon: every write is in the log
    }
    const keep = process.env.LIFEBOAT_CRASH_KEEP;
    if (keep !== undefined) {
      await mkdir(keep, { recursive: true });
      await sh("cp", [logFile, path.join(keep, "gpt-add-recovery.log")]);
    }
    const log = await readWriteLog(logFile);
    // Cheap states (~1.6 s each): more samples per epoch than the QEMU operations.
    const planned = planCrashStates(log, { samplesPerEpoch: OPT_IN ? SAMPLES : 3, seed: SEED });
    const flushes = planned.filter((s) => s.kind !== "sampled");
    const sampled = planned.filter((s) => s.kind === "sampled");
    const chosen = new Set(
      (OPT_IN ? planned : [...thin(flushes, 30), ...thin(sampled, 8)]).map((s) => s.index),
    );
    say(
      `  log of ${log.entries.length} entries (${log.entries.filter(isDataWrite).length} writes, ${log.entries.filter(isFlush).length} flushes) in ${seconds.toFixed(1)} s; ${flushes.length} flush points + ${sampled.length} sampled planned`,
    );
    const r = await checkGptStates(
      scratch,
      work.mountpoint,
      base,
      log,
      data,
      cli,
      planned.filter((s) => chosen.has(s.index)),
    );
    say(
      `gpt-add-recovery: ${r.flush + r.sampled} crash states checked (${r.flush} flush points + ${r.sampled} sampled, of ${flushes.length} + ${sampled.length} planned), ${r.flush + r.sampled - r.failed.length} passed; recorded in ${seconds.toFixed(1)} s; table/fs/again/formatted ${JSON.stringify(Object.fromEntries(r.tally))}; whole test ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    expect(r.failed).toEqual([]);
    expect(r.flush).toBeGreaterThan(0);
    // The states span the edit: the old table and the new one.
    expect([...r.tally.keys()].some((k) => k.startsWith("old/"))).toBe(true);
    expect([...r.tally.keys()].some((k) => k.startsWith("new/"))).toBe(true);
  }, 900_000);

  // The kept log of a run whose states the command refused before it read a torn table from
  // its intact copy: fixtures/crash/gpt-add-recovery.md says how it was made.
  it("gpt add-recovery: the torn-table states of the kept log (regression)", async () => {
    requireRoot();
    requireTools("mkfs.btrfs", "sgdisk", "blkid", "mkfs.ext4", "zstd");
    const scratch = await Scratch.create("lifeboat-crash-gpt-fixture-");
    scratches.push(scratch);
    const work = await createBtrfs(scratch, { bytes: 2 * 1024 ** 3, name: "work.img" });
    const cli = await cliCopyIn(scratch);
    const base = path.join(work.mountpoint, "base.img");
    const data = await makeGptDisk(base, { random: false });
    const logFile = scratch.path("gpt.log");
    await sh("zstd", ["-q", "-d", path.join(FIXTURES, "gpt-add-recovery.log.zst"), "-o", logFile]);
    const log = await readWriteLog(logFile);
    const planned = planCrashStates(log, { samplesPerEpoch: 1, seed: 22 });
    const ids = GPT_REGRESSION_STATES;
    expect(planned.filter((s) => ids.includes(s.id)).map((s) => s.id)).toEqual(ids);
    const r = await checkGptStates(
      scratch,
      work.mountpoint,
      base,
      log,
      data,
      cli,
      planned.filter((s) => ids.includes(s.id)),
    );
    say(
      `gpt-add-recovery regression: ${ids.join(", ")}: table/fs/again/formatted ${JSON.stringify(Object.fromEntries(r.tally))}`,
    );
    expect(r.failed).toEqual([]);
    // Torn, both: the states the command refused (GPT_PRIMARY_BACKUP_MISMATCH, GPT_BAD_ENTRIES_CRC).
    expect([...r.tally.keys()].every((k) => k.startsWith("torn-"))).toBe(true);
  }, 300_000);
});
