/**
 * The checker of a crash state of `lifeboat image install <set> --disk …`
 * (issue 22), run on the host on a disk image made from a write log: the GPT
 * is valid; the recovery partition (ext4, its journal replayed by the mount)
 * holds a `current` that is the old set or the new one, whole, and verifies
 * in full against the OEM key (`lifeboat image verify`: signature, sizes,
 * every block); the install run again on the state finishes, and then
 * `current` is the new set, verified, the only set left on the partition.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { type FixturePartition, sh } from "@lifeboat/testkit";
import { withLoop } from "./crash-check.js";

const run = promisify(execFile);
/** An error as one short line of a verdict. */
export const short = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 600);

/** What the install must leave. */
export interface InstallExpectation {
  /** The recovery partition's place in the image. */
  readonly recovery: Pick<FixturePartition, "offsetBytes" | "sizeBytes">;
  /** `sha256:` of `manifest.json` of the set installed before, and of the one installed. */
  readonly oldManifest: string;
  readonly newManifest: string;
  /** The set installed (a host copy), the CLI bundle and the OEM's public key. */
  readonly set: string;
  readonly cli: string;
  readonly trustedKey: string;
}

/** One state's verdict: `failures` empty when every check passed. */
export interface InstallVerdict {
  readonly failures: string[];
  /** What `current` was in the state. */
  readonly current: "old" | "new" | "other" | "missing";
}

/** `sha256:` of a file. */
export async function manifestDigest(file: string): Promise<string> {
  return `sha256:${createHash("sha256")
    .update(await readFile(file))
    .digest("hex")}`;
}

/** The sets a state's `current` is compared with, and how they verify. */
export type SetExpectation = Pick<
  InstallExpectation,
  "recovery" | "oldManifest" | "newManifest" | "cli" | "trustedKey"
>;

/**
 * Mount the recovery partition (read-only unless `writable`; ext4 replays its journal on the
 * writable loop), run `use`.
 */
export async function withRecovery<T>(
  image: string,
  want: Pick<InstallExpectation, "recovery">,
  mnt: string,
  use: (root: string) => Promise<T>,
  options: { writable?: boolean } = {},
): Promise<T> {
  await mkdir(mnt, { recursive: true });
  return withLoop(image, want.recovery, async (dev) => {
    await sh("mount", ["-t", "ext4", "-o", options.writable ? "rw" : "ro", dev, mnt]);
    try {
      return await use(mnt);
    } finally {
      await sh("umount", [mnt]);
    }
  });
}

/** `lifeboat image verify <root>/current`: the failures (none when it verifies). */
export async function verifyCurrent(
  want: Pick<InstallExpectation, "cli" | "trustedKey">,
  root: string,
): Promise<string[]> {
  const r = await run(
    "node",
    [want.cli, "image", "verify", path.join(root, "current"), "--trusted-key", want.trustedKey],
    { maxBuffer: 16 * 1024 * 1024 },
  ).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
  if ("code" in r && r.code !== undefined && r.code !== 0)
    return [
      `verify exit ${r.code}: ${String(r.stdout ?? "").slice(-600)} ${String(r.stderr ?? "").slice(-600)}`,
    ];
  return [];
}

/** Which set `<root>/current` is, by its manifest's digest. */
export async function currentOf(
  want: Pick<InstallExpectation, "oldManifest" | "newManifest">,
  root: string,
): Promise<InstallVerdict["current"]> {
  const d = await manifestDigest(path.join(root, "current", "manifest.json")).catch(() => null);
  if (d === null) return "missing";
  return d === want.oldManifest ? "old" : d === want.newManifest ? "new" : "other";
}

/** `sgdisk -v` of a state: its failures (none when the table is valid). */
export async function gptFailures(image: string): Promise<string[]> {
  try {
    const gpt = await sh("sgdisk", ["-v", image]);
    return /No problems found/.test(gpt) ? [] : [`sgdisk -v: ${gpt.trim().slice(0, 300)}`];
  } catch (e) {
    return [`sgdisk -v: ${short(e)}`];
  }
}

/**
 * A state's `current` (mounted read-only): which set it is, and its failures unless it is
 * the old or the new set and verifies in full.
 */
async function checkCurrent(
  image: string,
  want: SetExpectation,
  mnt: string,
): Promise<{ current: InstallVerdict["current"]; failures: string[] }> {
  return withRecovery(image, want, mnt, async (root) => {
    const current = await currentOf(want, root);
    if (current !== "old" && current !== "new")
      return { current, failures: [`current is ${current}, neither the old set nor the new one`] };
    const failures = (await verifyCurrent(want, root)).map((f) => `${current} set: ${f}`);
    return { current, failures };
  });
}

/**
 * What both set checkers look at first: the GPT, and which set `current` is
 * and whether it verifies. `unreadable` when the recovery partition could not
 * be read (nothing more to check).
 */
export async function checkSetState(
  image: string,
  want: SetExpectation,
  mnt: string,
): Promise<{ failures: string[]; current: InstallVerdict["current"]; unreadable: boolean }> {
  const failures = [...(await gptFailures(image))];
  try {
    const checked = await checkCurrent(image, want, mnt);
    return {
      failures: [...failures, ...checked.failures],
      current: checked.current,
      unreadable: false,
    };
  } catch (e) {
    return {
      failures: [...failures, `recovery partition: ${short(e)}`],
      current: "missing",
      unreadable: true,
    };
  }
}

/** Check one crash state's image (changed in place: the install runs again on it). */
export async function checkInstallState(
  image: string,
  want: InstallExpectation,
  work: string,
): Promise<InstallVerdict> {
  const mnt = path.join(work, "install-mnt");
  const { failures, current, unreadable } = await checkSetState(image, want, mnt);
  if (unreadable) return { failures, current };
  const again = await run(
    "node",
    [
      want.cli,
      "image",
      "install",
      want.set,
      "--trusted-key",
      want.trustedKey,
      "--disk",
      image,
      "--json",
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  ).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
  if ("code" in again && again.code !== undefined && again.code !== 0) {
    failures.push(
      `install again: exit ${again.code}: ${String(again.stdout ?? "").slice(-600)} ${String(again.stderr ?? "").slice(-900)}`,
    );
    return { failures, current };
  }
  try {
    await withRecovery(image, want, mnt, async (root) => {
      const after = await currentOf(want, root);
      if (after !== "new") failures.push(`after install again: current is ${after}`);
      failures.push(...(await verifyCurrent(want, root)).map((f) => `after install again: ${f}`));
      const sets = await readdir(path.join(root, "sets"));
      if (sets.length !== 1)
        failures.push(`after install again: ${sets.length} sets (${sets.join(", ")})`);
    });
  } catch (e) {
    failures.push(`after install again: ${short(e)}`);
  }
  return { failures, current };
}
