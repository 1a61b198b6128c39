/**
 * The checker of a crash state of one recovery operation (reset keeping
 * /home, reset from the recovery image, full restore), run on the host on a
 * disk image made from a write log: the GPT is valid, the Btrfs passes
 * `btrfs check --readonly` and mounts read-only, `root` and `/home` are each
 * the operation's before or after (fingerprints), the journal is readable
 * (absent, or an earlier operation's finished one, before the operation
 * began), and the recovery command (resume, or the operation again) finishes
 * to the after state. {@link checkImageSetState} checks the recovery
 * partition's image set for the operations that read it. An operation the
 * recovery command's request cannot carry (checkpoint rollback: the request
 * holds no checkpoint id) is run again with its own CLI command instead, and
 * an interrupted run of it is finished with `lifeboat resume`. A reset
 * scheduled for the next boot is finished as the next boot would: the unit's
 * `reset run-scheduled` while the old root (which holds the unit) is in place,
 * `resume` after the swap; its request may be gone only once the journal says
 * done. With /boot given, each state's /boot passes `e2fsck -fn`.
 */

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { readJournal } from "@lifeboat/core";
import { type FixturePartition, fixtureFingerprints, sh } from "@lifeboat/testkit";

/** What one operation must leave: the fingerprints before and after it, the request it ran. */
export interface OperationExpectation {
  /** `root` before the operation and after it. */
  readonly oldRoot: string;
  readonly newRoot: string;
  /** `/home` before and after (the same but for the full restore). */
  readonly oldHome: string;
  readonly newHome: string;
  /** The plan digest of the operation's finished journal, as the recording left it. */
  readonly doneDigest: string;
  /** The Btrfs partition's place in the image. */
  readonly btrfs: Pick<FixturePartition, "offsetBytes" | "sizeBytes">;
  /** The CLI bundle and the request the recovery environment ran (a host copy) with its digest. */
  readonly cli: string;
  readonly requestFile?: string;
  readonly digest?: string;
  /** The OEM's public key (in the recovery environment it is built into the initramfs). */
  readonly trustedKey: string;
  /**
   * The operation as its own CLI command (`--disk <state> --json` is added),
   * when the recovery command's request cannot carry it: where it had not
   * started it runs with `--dry-run` for its plan digest, then with
   * `--yes --confirm <digest>`; an interrupted run is finished with
   * `lifeboat resume`. Without it: `lifeboat recovery --request … --digest …`.
   */
  readonly command?: readonly string[];
  /**
   * /boot's place in the image (ext4): each state's /boot, its journal
   * replayed as a mount would, must pass `e2fsck -fn`, before the recovery and after it.
   */
  readonly boot?: Pick<FixturePartition, "offsetBytes" | "sizeBytes">;
  /**
   * A reset scheduled for the next boot (`lifeboat reset schedule`): the
   * unit's command after its program (`reset run-scheduled --digest …`). The
   * next boot's equivalent is run on the state: while `root` is the old system
   * (it holds the unit) that command with `--system-root`/`--boot` on the
   * state's `root` and /boot mounted; once the new root is in place (no unit)
   * `lifeboat resume`. The request on the top level may be gone only when the
   * journal says done.
   */
  readonly scheduled?: { readonly unitArgs: readonly string[] };
}

/** One state's verdict: `failures` empty when every check passed. */
export interface StateVerdict {
  readonly failures: string[];
  /**
   * The journal in the state: `none`, `earlier` (an earlier operation's,
   * finished: this one had not started), `running`, `done` (this
   * operation's), `failed` or `unreadable`.
   */
  readonly journal: "none" | "earlier" | "running" | "done" | "failed" | "unreadable";
  /** Whether `root` was the old or the new system in the state. */
  readonly root: "old" | "new" | "other";
  /** What the recovery command did (`resumed`, `executed`) or `skipped` when the journal said done. */
  readonly recovery: string;
  /** For a scheduled reset: whether the request was still on the top level (`pending`) or gone. */
  readonly schedule?: "pending" | "gone";
}

/** Where `reset schedule` keeps the request, relative to the Btrfs top level. */
const SCHEDULED_REQUEST = ".lifeboat/scheduled-reset.json";
/** The reset entry's GRUB id (`reset schedule` points grubenv at it). */
const RESET_ENTRY_ID = "lifeboat-factory-reset";

const run = promisify(execFile);
const short = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 600);

/** Attach a byte range of `image` as a loop device, run `use`, always detach. */
export async function withLoop<T>(
  image: string,
  part: Pick<FixturePartition, "offsetBytes" | "sizeBytes">,
  use: (dev: string) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const dev = (
    await sh("losetup", [
      "--find",
      "--show",
      ...(options.readOnly ? ["--read-only"] : []),
      "--offset",
      String(part.offsetBytes),
      "--sizelimit",
      String(part.sizeBytes),
      image,
    ])
  ).trim();
  try {
    return await use(dev);
  } finally {
    await sh("losetup", ["-d", dev]);
  }
}

/** Mount a byte range of `image` read-only on `mnt` (after `btrfs check` when asked), run `use`. */
export async function withBtrfs<T>(
  image: string,
  part: Pick<FixturePartition, "offsetBytes" | "sizeBytes">,
  mnt: string,
  use: (top: string) => Promise<T>,
  options: { check?: boolean } = {},
): Promise<T> {
  return withLoop(image, part, async (dev) => {
    if (options.check) await sh("btrfs", ["check", "--readonly", dev]);
    await mkdir(mnt, { recursive: true });
    // Read-only, but on a writable device: a read-only mount still replays the fsync log.
    await sh("mount", ["-t", "btrfs", "-o", "ro", dev, mnt]);
    try {
      return await use(mnt);
    } finally {
      await sh("umount", [mnt]);
    }
  });
}

/** The journal at the top level `top`: its status and the digest of the plan it ran. */
export async function journalOf(
  top: string,
): Promise<{ status: "none" | "running" | "done" | "failed" | "unreadable"; digest?: string }> {
  const r = await readJournal(path.join(top, ".lifeboat/journal.json"));
  if (r.isOk()) return { status: r.value.status, digest: r.value.planDigest };
  return { status: r.error.code === "JOURNAL_NOT_FOUND" ? "none" : "unreadable" };
}

function classify(
  j: Awaited<ReturnType<typeof journalOf>>,
  doneDigest: string,
): StateVerdict["journal"] {
  if (j.status !== "done") return j.status;
  return j.digest === doneDigest ? "done" : "earlier";
}

type CliOutcome = { ok: true; stdout: string } | { ok: false; failure: string };

async function cli(want: OperationExpectation, args: readonly string[]): Promise<CliOutcome> {
  const r = await run("node", [want.cli, ...args], { maxBuffer: 64 * 1024 * 1024 }).catch(
    (e: { code?: number; stdout?: string; stderr?: string }) => e,
  );
  if (!("stdout" in r) || ("code" in r && r.code !== undefined && r.code !== 0)) {
    const e = r as { code?: number; stdout?: string; stderr?: string };
    return {
      ok: false,
      failure: `${args.slice(0, 2).join(" ")}: exit ${e.code}: ${(e.stdout ?? "").slice(-1000)} ${(e.stderr ?? "").slice(-1500)}`,
    };
  }
  return { ok: true, stdout: String(r.stdout) };
}

/** Run the operation again or finish it on the state: what was done (`executed`, `resumed`), or `failed: …`. */
async function recover(
  image: string,
  want: OperationExpectation,
  journal: StateVerdict["journal"],
  root: StateVerdict["root"],
  work: string,
): Promise<string> {
  const disk = ["--disk", image, "--json"];
  if (want.scheduled !== undefined) {
    if (root === "old") {
      const r = await runScheduled(image, want, want.scheduled.unitArgs, work);
      if (!r.ok) return `failed: ${r.failure}`;
      return `run-scheduled ${/"action":\s*"(\w+)"/.exec(r.stdout)?.[1] ?? "?"}`;
    }
    if (journal !== "running" && journal !== "failed")
      return `failed: root is the new system but the journal says ${journal}`;
    const r = await cli(want, ["resume", ...disk]);
    return r.ok ? "resumed" : `failed: ${r.failure}`;
  }
  if (want.command === undefined) {
    if (want.requestFile === undefined || want.digest === undefined)
      return "failed: neither a request nor a command to run";
    const r = await cli(want, [
      "recovery",
      "--request",
      want.requestFile,
      "--digest",
      want.digest,
      "--trusted-key",
      want.trustedKey,
      ...disk,
    ]);
    if (!r.ok) return `failed: ${r.failure}`;
    return /"action":\s*"(\w+)"/.exec(r.stdout)?.[1] ?? "?";
  }
  if (journal === "running" || journal === "failed") {
    const r = await cli(want, ["resume", ...disk]);
    return r.ok ? "resumed" : `failed: ${r.failure}`;
  }
  const dry = await cli(want, [...want.command, ...disk, "--dry-run"]);
  if (!dry.ok) return `failed: ${dry.failure}`;
  const digest = (JSON.parse(dry.stdout) as { data?: { plan?: { digest?: string } } }).data?.plan
    ?.digest;
  if (digest === undefined) return `failed: no plan digest in ${dry.stdout.slice(0, 300)}`;
  const r = await cli(want, [...want.command, ...disk, "--yes", "--confirm", digest]);
  return r.ok ? "executed" : `failed: ${r.failure}`;
}

/**
 * Check one crash state's image (changed in place: the recovery runs on it).
 * `work` is a directory for its mount points.
 */
export async function checkOperationState(
  image: string,
  want: OperationExpectation,
  work: string,
): Promise<StateVerdict> {
  const failures: string[] = [];
  let journal = "none" as StateVerdict["journal"];
  let root = "other" as StateVerdict["root"];
  let recovery = "not run";
  const mnt = path.join(work, "state-mnt");
  try {
    const gpt = await sh("sgdisk", ["-v", image]);
    if (!/No problems found/.test(gpt)) failures.push(`sgdisk -v: ${gpt.trim().slice(0, 300)}`);
  } catch (e) {
    failures.push(`sgdisk -v: ${short(e)}`);
  }
  if (want.boot !== undefined) failures.push(...(await checkExt4(image, want.boot, "/boot")));
  // Read after the check above replayed /boot's journal: what GRUB would read at the next boot.
  const grubenv =
    want.scheduled !== undefined && want.boot !== undefined
      ? await grubenvOf(image, want.boot).catch((e: unknown) => {
          failures.push(`/boot grubenv: ${short(e)}`);
          return undefined;
        })
      : undefined;
  let schedule: StateVerdict["schedule"];
  try {
    await withBtrfs(
      image,
      want.btrfs,
      mnt,
      async (top) => {
        const fp = await fixtureFingerprints({ btrfsTop: top });
        root = fp.root === want.oldRoot ? "old" : fp.root === want.newRoot ? "new" : "other";
        if (root === "other") failures.push("root is neither the old nor the new system");
        if (fp.home !== want.oldHome && fp.home !== want.newHome)
          failures.push("/home is neither the user's nor the new one");
        journal = classify(await journalOf(top), want.doneDigest);
        if (journal === "unreadable") failures.push("the journal is there but unreadable");
        if (want.scheduled !== undefined) {
          schedule = existsSync(path.join(top, SCHEDULED_REQUEST)) ? "pending" : "gone";
          if (schedule === "gone" && journal !== "done")
            failures.push(`the scheduled request is gone but the journal says ${journal}`);
          // Not done yet: the next boot must come back to the reset entry (next_entry, or
          // saved_entry when GRUB had already taken the one-shot before the cut).
          if (
            schedule === "pending" &&
            journal !== "done" &&
            grubenv !== undefined &&
            grubenv.get("next_entry") !== RESET_ENTRY_ID &&
            grubenv.get("saved_entry") !== RESET_ENTRY_ID
          )
            failures.push(
              `the reset is pending (journal ${journal}) but the next boot would not take the reset entry (grubenv: ${[...grubenv].map(([k, v]) => `${k}=${v}`).join(" ")})`,
            );
        }
      },
      { check: true },
    );
  } catch (e) {
    failures.push(`btrfs: ${short(e)}`);
    return { failures, journal, root, recovery, ...(schedule ? { schedule } : {}) };
  }
  const verdict = () => ({ failures, journal, root, recovery, ...(schedule ? { schedule } : {}) });
  if (journal === "done") recovery = "skipped";
  else {
    const r = await recover(image, want, journal, root, work);
    if (r.startsWith("failed: ")) {
      failures.push(`recovery: ${r.slice("failed: ".length)}`);
      return verdict();
    }
    recovery = r;
  }
  try {
    await withBtrfs(image, want.btrfs, mnt, async (top) => {
      const fp = await fixtureFingerprints({ btrfsTop: top });
      if (fp.root !== want.newRoot) failures.push("after recovery: root is not the new system");
      if (fp.home !== want.newHome) failures.push("after recovery: /home is not the expected one");
      const after = await journalOf(top);
      if (after.status !== "done") failures.push(`after recovery: journal ${after.status}`);
      // run-scheduled finished: it removes the request (the next boot runs no reset again).
      if (recovery.startsWith("run-scheduled") && existsSync(path.join(top, SCHEDULED_REQUEST)))
        failures.push("after run-scheduled: the scheduled request is still there");
    });
  } catch (e) {
    failures.push(`after recovery: ${short(e)}`);
  }
  if (want.boot !== undefined && recovery !== "skipped")
    failures.push(...(await checkExt4(image, want.boot, "after recovery: /boot")));
  await rm(mnt, { recursive: true, force: true });
  return verdict();
}

/**
 * `e2fsck -fn` on an ext4 byte range of `image` after its journal is replayed
 * (`-E journal_only`, what a mount does first): the failures, none when clean.
 */
export async function checkExt4(
  image: string,
  part: Pick<FixturePartition, "offsetBytes" | "sizeBytes">,
  what: string,
): Promise<string[]> {
  try {
    return await withLoop(image, part, async (dev) => {
      const replay = await run("e2fsck", ["-E", "journal_only", "-y", dev]).catch(
        (e: { code?: number; stdout?: string }) => e,
      );
      if ("code" in replay && replay.code !== undefined && replay.code > 1)
        return [
          `${what}: e2fsck journal replay exit ${replay.code}: ${String(replay.stdout ?? "").slice(-400)}`,
        ];
      const r = await run("e2fsck", ["-f", "-n", dev]).catch(
        (e: { code?: number; stdout?: string }) => e,
      );
      if ("code" in r && r.code !== undefined && r.code !== 0)
        return [`${what}: e2fsck -fn exit ${r.code}: ${String(r.stdout ?? "").slice(-600)}`];
      return [];
    });
  } catch (e) {
    return [`${what}: ${short(e)}`];
  }
}

/** grubenv's variables on the ext4 /boot of a state, read with `debugfs` (nothing mounted). */
async function grubenvOf(
  image: string,
  part: Pick<FixturePartition, "offsetBytes" | "sizeBytes">,
): Promise<Map<string, string>> {
  const text = await withLoop(
    image,
    part,
    async (dev) => (await run("debugfs", ["-R", "cat /grub2/grubenv", dev])).stdout,
    { readOnly: true },
  );
  if (!text.startsWith("# GRUB Environment Block"))
    throw new Error(`not a grubenv block: ${JSON.stringify(text.slice(0, 60))}`);
  return new Map(
    text
      .split("\n")
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
}

/**
 * The scheduled reset's next boot on a state: `root` mounted as the system
 * root and /boot on it, the unit's command run with `--system-root`/`--boot`.
 */
async function runScheduled(
  image: string,
  want: OperationExpectation,
  unitArgs: readonly string[],
  work: string,
): Promise<CliOutcome> {
  if (want.boot === undefined) return { ok: false, failure: "no /boot partition given" };
  const boot = want.boot;
  const sys = path.join(work, "scheduled-sys");
  await mkdir(sys, { recursive: true });
  return withLoop(image, want.btrfs, async (btrfsDev) => {
    await sh("mount", ["-t", "btrfs", "-o", "subvol=root", btrfsDev, sys]);
    try {
      return await withLoop(image, boot, async (bootDev) => {
        await sh("mount", ["-t", "ext4", bootDev, path.join(sys, "boot")]);
        try {
          return await cli(want, [
            ...unitArgs,
            "--system-root",
            sys,
            "--boot",
            path.join(sys, "boot"),
            "--json",
          ]);
        } finally {
          await sh("umount", [path.join(sys, "boot")]);
        }
      });
    } finally {
      await sh("umount", [sys]);
    }
  });
}

/**
 * The recovery partition of a crash state holds one complete image set that
 * verifies: mounted read-only (ext4; the recovery environment mounts it
 * read-only, so no journal needs replaying), `current` verified in full by
 * `lifeboat image verify` (signature, sizes, every block) against the OEM key.
 * Returns the failures (none when it verifies).
 */
export async function checkImageSetState(
  image: string,
  partition: Pick<FixturePartition, "offsetBytes" | "sizeBytes">,
  cli: string,
  trustedKey: string,
  work: string,
): Promise<string[]> {
  const mnt = path.join(work, "recovery-mnt");
  await mkdir(mnt, { recursive: true });
  try {
    return await withLoop(
      image,
      partition,
      async (dev) => {
        await sh("mount", ["-t", "ext4", "-o", "ro", dev, mnt]);
        try {
          const r = await run(
            "node",
            [cli, "image", "verify", path.join(mnt, "current"), "--trusted-key", trustedKey],
            { maxBuffer: 16 * 1024 * 1024 },
          ).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
          if ("code" in r && r.code !== undefined && r.code !== 0)
            return [
              `image set: verify exit ${r.code}: ${String(r.stdout ?? "").slice(-600)} ${String(r.stderr ?? "").slice(-600)}`,
            ];
          return [];
        } finally {
          await sh("umount", [mnt]);
        }
      },
      { readOnly: true },
    );
  } catch (e) {
    return [`image set: ${short(e)}`];
  }
}
