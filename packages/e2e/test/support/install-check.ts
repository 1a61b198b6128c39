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
const short = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 600);

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

/** Mount the recovery partition (read-only; ext4 replays its journal on the writable loop), run `use`. */
async function withRecovery<T>(
  image: string,
  want: InstallExpectation,
  mnt: string,
  use: (root: string) => Promise<T>,
): Promise<T> {
  await mkdir(mnt, { recursive: true });
  return withLoop(image, want.recovery, async (dev) => {
    await sh("mount", ["-t", "ext4", "-o", "ro", dev, mnt]);
    try {
      return await use(mnt);
    } finally {
      await sh("umount", [mnt]);
    }
  });
}

/** `lifeboat image verify <root>/current`: the failures (none when it verifies). */
async function verifyCurrent(want: InstallExpectation, root: string): Promise<string[]> {
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

async function currentOf(
  want: InstallExpectation,
  root: string,
): Promise<InstallVerdict["current"]> {
  const d = await manifestDigest(path.join(root, "current", "manifest.json")).catch(() => null);
  if (d === null) return "missing";
  return d === want.oldManifest ? "old" : d === want.newManifest ? "new" : "other";
}

/** Check one crash state's image (changed in place: the install runs again on it). */
export async function checkInstallState(
  image: string,
  want: InstallExpectation,
  work: string,
): Promise<InstallVerdict> {
  const failures: string[] = [];
  let current = "missing" as InstallVerdict["current"];
  const mnt = path.join(work, "install-mnt");
  try {
    const gpt = await sh("sgdisk", ["-v", image]);
    if (!/No problems found/.test(gpt)) failures.push(`sgdisk -v: ${gpt.trim().slice(0, 300)}`);
  } catch (e) {
    failures.push(`sgdisk -v: ${short(e)}`);
  }
  try {
    await withRecovery(image, want, mnt, async (root) => {
      current = await currentOf(want, root);
      if (current !== "old" && current !== "new")
        failures.push(`current is ${current}, neither the old set nor the new one`);
      else failures.push(...(await verifyCurrent(want, root)).map((f) => `${current} set: ${f}`));
    });
  } catch (e) {
    failures.push(`recovery partition: ${short(e)}`);
    return { failures, current };
  }
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
