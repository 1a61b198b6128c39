/**
 * The checker of a crash state of `lifeboat checkpoint create`, run on the
 * host on a disk image made from a write log: the GPT is valid, /boot passes
 * `e2fsck -fn`, the Btrfs passes `btrfs check --readonly`, `root` and `/home`
 * are untouched (a checkpoint only adds), `lifeboat checkpoint list` reads the
 * state and shows the checkpoint complete (`intact`) or not at all (its
 * manifest is the commit point), and where it is not there `checkpoint create`
 * run again with the same name finishes to a complete one.
 */

import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { type FixturePartition, fixtureFingerprints, sh } from "@lifeboat/testkit";
import { checkExt4, withBtrfs } from "./crash-check.js";

/** What a `checkpoint create` state must hold. */
export interface CheckpointExpectation {
  /** The checkpoint's name and reason, as the recording created it. */
  readonly name: string;
  readonly reason: string;
  /** `root` and `/home` fingerprints (the same before and after the create). */
  readonly root: string;
  readonly home: string;
  readonly btrfs: Pick<FixturePartition, "offsetBytes" | "sizeBytes">;
  readonly boot: Pick<FixturePartition, "offsetBytes" | "sizeBytes">;
  /** The CLI bundle (a host copy). */
  readonly cli: string;
}

/** One state's verdict: `failures` empty when every check passed. */
export interface CheckpointVerdict {
  readonly failures: string[];
  /** The checkpoint in the state: `complete`, `absent` or `broken` (listed, not intact). */
  readonly checkpoint: "complete" | "absent" | "broken" | "unreadable";
}

const run = promisify(execFile);
const short = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 600);

interface Listed {
  readonly id: string;
  readonly intact: boolean;
}

async function listed(want: CheckpointExpectation, image: string): Promise<Listed[] | string> {
  const r = await run("node", [want.cli, "checkpoint", "list", "--disk", image, "--json"], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
  if ("code" in r && r.code !== undefined && r.code !== 0)
    return `checkpoint list: exit ${r.code}: ${String(r.stdout ?? "").slice(-600)} ${String(r.stderr ?? "").slice(-600)}`;
  try {
    const doc = JSON.parse(String(r.stdout)) as { data?: { checkpoints?: Listed[] } };
    return doc.data?.checkpoints ?? "checkpoint list: no checkpoints in its document";
  } catch (e) {
    return `checkpoint list: ${short(e)}`;
  }
}

function stateOf(list: Listed[] | string, name: string): CheckpointVerdict["checkpoint"] {
  if (typeof list === "string") return "unreadable";
  const c = list.find((x) => x.id === name);
  return c === undefined ? "absent" : c.intact ? "complete" : "broken";
}

/** Root and /home as they were: a checkpoint only adds. */
async function untouched(
  image: string,
  want: CheckpointExpectation,
  mnt: string,
  what: string,
  check: boolean,
): Promise<string[]> {
  try {
    return await withBtrfs(
      image,
      want.btrfs,
      mnt,
      async (top) => {
        const fp = await fixtureFingerprints({ btrfsTop: top });
        return [
          ...(fp.root === want.root ? [] : [`${what}root changed`]),
          ...(fp.home === want.home ? [] : [`${what}/home changed`]),
        ];
      },
      { check },
    );
  } catch (e) {
    return [`${what}btrfs: ${short(e)}`];
  }
}

/** Check one state's image (changed in place: the create runs again on it). */
export async function checkCheckpointState(
  image: string,
  want: CheckpointExpectation,
  work: string,
): Promise<CheckpointVerdict> {
  const failures: string[] = [];
  const mnt = path.join(work, "checkpoint-mnt");
  try {
    const gpt = await sh("sgdisk", ["-v", image]);
    if (!/No problems found/.test(gpt)) failures.push(`sgdisk -v: ${gpt.trim().slice(0, 300)}`);
  } catch (e) {
    failures.push(`sgdisk -v: ${short(e)}`);
  }
  failures.push(...(await checkExt4(image, want.boot, "/boot")));
  const before = await untouched(image, want, mnt, "", true);
  failures.push(...before);
  if (before.some((f) => f.startsWith("btrfs:"))) return { failures, checkpoint: "unreadable" };
  const list = await listed(want, image);
  const checkpoint = stateOf(list, want.name);
  if (typeof list === "string") failures.push(list);
  if (checkpoint === "broken") failures.push(`checkpoint ${want.name} is listed but not intact`);
  if (checkpoint !== "absent") return { failures, checkpoint };
  const again = await run(
    "node",
    [
      want.cli,
      "checkpoint",
      "create",
      "--disk",
      image,
      "--name",
      want.name,
      "--reason",
      want.reason,
      "--json",
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  ).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
  if ("code" in again && again.code !== undefined && again.code !== 0) {
    failures.push(
      `checkpoint create again: exit ${again.code}: ${String(again.stdout ?? "").slice(-600)} ${String(again.stderr ?? "").slice(-600)}`,
    );
    return { failures, checkpoint };
  }
  const after = stateOf(await listed(want, image), want.name);
  if (after !== "complete") failures.push(`after create again: checkpoint ${after}`);
  failures.push(...(await untouched(image, want, mnt, "after create again: ", false)));
  failures.push(...(await checkExt4(image, want.boot, "after create again: /boot")));
  return { failures, checkpoint };
}
