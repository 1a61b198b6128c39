/**
 * The checker of a crash state of "reset keeping /home", run on the host on
 * a disk image made from a write log: the GPT is valid, the Btrfs passes
 * `btrfs check --readonly` and mounts read-only, `root` is the old or the
 * new system and `/home` the user's (fingerprints), the reset's journal is
 * readable or absent, and the recovery command (resume, or the reset again)
 * finishes to the new system.
 */

import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { readJournal } from "@lifeboat/core";
import { type FixturePartition, fixtureFingerprints, sh } from "@lifeboat/testkit";

/** What a reset keeping /home must leave: the fingerprints before and after, the request it runs. */
export interface ResetExpectation {
  /** `root` before the reset (the system being replaced). */
  readonly oldRoot: string;
  /** `root` after it (the factory system). */
  readonly newRoot: string;
  /** `/home`, the same before, during and after. */
  readonly home: string;
  /** The Btrfs partition's place in the image. */
  readonly btrfs: Pick<FixturePartition, "offsetBytes" | "sizeBytes">;
  /** The CLI bundle and the request the recovery environment ran (a host copy) with its digest. */
  readonly cli: string;
  readonly requestFile: string;
  readonly digest: string;
  /** The OEM's public key (in the recovery environment it is built into the initramfs). */
  readonly trustedKey: string;
}

/** One state's verdict: `failures` empty when every check passed. */
export interface StateVerdict {
  readonly failures: string[];
  /** `none` (the reset had not started), `running` or `done`, as the state's journal says. */
  readonly journal: "none" | "running" | "done" | "failed" | "unreadable";
  /** Whether `root` was the old or the new system in the state. */
  readonly root: "old" | "new" | "other";
  /** What the recovery command did (`resumed`, `executed`) or `skipped` when the journal said done. */
  readonly recovery: string;
}

const run = promisify(execFile);
const short = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 600);

async function withBtrfs<T>(
  image: string,
  part: ResetExpectation["btrfs"],
  mnt: string,
  use: (top: string) => Promise<T>,
  options: { check?: boolean } = {},
): Promise<T> {
  const dev = (
    await sh("losetup", [
      "--find",
      "--show",
      "--offset",
      String(part.offsetBytes),
      "--sizelimit",
      String(part.sizeBytes),
      image,
    ])
  ).trim();
  try {
    if (options.check) await sh("btrfs", ["check", "--readonly", dev]);
    await mkdir(mnt, { recursive: true });
    // Read-only first: a read-only mount of a writable device still replays the fsync log.
    await sh("mount", ["-t", "btrfs", "-o", "ro", dev, mnt]);
    try {
      return await use(mnt);
    } finally {
      await sh("umount", [mnt]);
    }
  } finally {
    await sh("losetup", ["-d", dev]);
  }
}

async function journalStatus(top: string): Promise<StateVerdict["journal"]> {
  const file = path.join(top, ".lifeboat/journal.json");
  const r = await readJournal(file);
  if (r.isOk()) return r.value.status;
  return r.error.code === "JOURNAL_NOT_FOUND" ? "none" : "unreadable";
}

/**
 * Check one crash state's image (changed in place: the recovery runs on it).
 * `work` is a directory for its mount points.
 */
export async function checkResetState(
  image: string,
  want: ResetExpectation,
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
  try {
    await withBtrfs(
      image,
      want.btrfs,
      mnt,
      async (top) => {
        const fp = await fixtureFingerprints({ btrfsTop: top });
        root = fp.root === want.oldRoot ? "old" : fp.root === want.newRoot ? "new" : "other";
        if (root === "other") failures.push(`root is neither the old nor the new system`);
        if (fp.home !== want.home) failures.push("/home differs from the user's");
        journal = await journalStatus(top);
        if (journal === "unreadable") failures.push("the journal is there but unreadable");
      },
      { check: true },
    );
  } catch (e) {
    failures.push(`btrfs: ${short(e)}`);
    return { failures, journal, root, recovery };
  }
  if (journal === "done") recovery = "skipped";
  else {
    const r = await run("node", [
      want.cli,
      "recovery",
      "--request",
      want.requestFile,
      "--digest",
      want.digest,
      "--trusted-key",
      want.trustedKey,
      "--disk",
      image,
      "--json",
    ]).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
    if (!("stdout" in r) || ("code" in r && r.code !== undefined && r.code !== 0)) {
      const e = r as { code?: number; stdout?: string; stderr?: string };
      failures.push(
        `recovery: exit ${e.code}: ${(e.stdout ?? "").slice(-1000)} ${(e.stderr ?? "").slice(-1500)}`,
      );
      return { failures, journal, root, recovery };
    }
    recovery = /"action":\s*"(\w+)"/.exec(String(r.stdout))?.[1] ?? "?";
  }
  try {
    await withBtrfs(image, want.btrfs, mnt, async (top) => {
      const fp = await fixtureFingerprints({ btrfsTop: top });
      if (fp.root !== want.newRoot) failures.push("after recovery: root is not the new system");
      if (fp.home !== want.home) failures.push("after recovery: /home differs");
      const after = await journalStatus(top);
      if (after !== "done") failures.push(`after recovery: journal ${after}`);
    });
  } catch (e) {
    failures.push(`after recovery: ${short(e)}`);
  }
  await rm(mnt, { recursive: true, force: true });
  return { failures, journal, root, recovery };
}
