/**
 * The checker of a crash state of `lifeboat gpt add-recovery <disk>` (issue
 * 22), run on the host on a disk image made from a write log: the partition
 * table `sgdisk` reads (the primary header, or the backup when the primary is
 * torn) is the old one or the new one; `sgdisk -v` is clean or the table is
 * one of the two; the data partitions hold the same bytes; and the command
 * run again on the state finishes: on the old table it adds and formats the
 * partition; on a torn one it rewrites both copies from the intact one; on
 * the new one it says the partition is there. A partition left without its
 * filesystem gets it from the command `provision` prints then
 * (CLI_RECOVERY_UNFORMATTED). After that the table is the new one, clean.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { promisify } from "node:util";
import { sh } from "@lifeboat/testkit";

const run = promisify(execFile);

/** A byte range of the disk (a data partition). */
export interface ByteRange {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
}

/** What the GPT edit must leave. */
export interface GptExpectation {
  /** `sgdisk -p` of the table before and after the edit (its partition list). */
  readonly oldTable: string;
  readonly newTable: string;
  /** The data partitions and the SHA-256 of their bytes before the edit. */
  readonly data: readonly { range: ByteRange; sha256: string }[];
  /** The recovery partition's range after the edit (to read its file system). */
  readonly recovery: ByteRange;
  /** The CLI bundle and the size given to `gpt add-recovery`. */
  readonly cli: string;
  readonly size: string;
}

/** One state's verdict: `failures` empty when every check passed. */
export interface GptVerdict {
  readonly failures: string[];
  /** The table in the state (`torn`: `sgdisk -v` found problems, but the table read is one of the two). */
  readonly table: "old" | "new" | "torn-old" | "torn-new" | "other";
  /** The recovery partition's file system in the state: `ext4` (label LIFEBOAT), `none`, or no partition. */
  readonly fs: "ext4" | "none" | "no-partition";
  /** What running the command again did: `added` (or repaired a torn table), `exists`, or `failed`. */
  readonly again: "added" | "exists" | "failed";
  /** The recovery filesystem after that: there `already`, or made `as provision says` (CLI_RECOVERY_UNFORMATTED's command). */
  readonly formatted: "already" | "as provision says";
}

/** `sgdisk -p`'s partition list (from its "Number" line), the disk's identity lines dropped. */
export async function partitionList(image: string): Promise<string> {
  const out = await sh("sgdisk", ["-p", image]);
  const at = out.indexOf("Number");
  return at < 0 ? out : out.slice(at).trim();
}

/** SHA-256 of a byte range of a file. */
export async function rangeDigest(file: string, range: ByteRange): Promise<string> {
  const fh = await open(file, "r");
  try {
    const h = createHash("sha256");
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (let done = 0; done < range.sizeBytes; ) {
      const n = Math.min(buf.length, range.sizeBytes - done);
      const { bytesRead } = await fh.read(buf, 0, n, range.offsetBytes + done);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
    return h.digest("hex");
  } finally {
    await fh.close();
  }
}

/** The recovery partition's file system: ext4 labelled LIFEBOAT, or none. */
async function recoveryFs(image: string, range: ByteRange): Promise<"ext4" | "none"> {
  const dev = (
    await sh("losetup", [
      "--find",
      "--show",
      "--read-only",
      "--offset",
      String(range.offsetBytes),
      "--sizelimit",
      String(range.sizeBytes),
      image,
    ])
  ).trim();
  try {
    const out = await sh("blkid", ["-p", "-o", "export", dev]).catch(() => "");
    return /^TYPE=ext4$/m.test(out) && /^LABEL=LIFEBOAT$/m.test(out) ? "ext4" : "none";
  } finally {
    await sh("losetup", ["-d", dev]);
  }
}

/** What CLI_RECOVERY_UNFORMATTED tells to run: `mkfs.ext4 -q -L LIFEBOAT` through a loop device on the partition. */
async function mkfsRecovery(image: string, range: ByteRange): Promise<void> {
  const dev = (
    await sh("losetup", [
      "--find",
      "--show",
      "--offset",
      String(range.offsetBytes),
      "--sizelimit",
      String(range.sizeBytes),
      image,
    ])
  ).trim();
  try {
    await sh("mkfs.ext4", ["-q", "-L", "LIFEBOAT", dev]);
  } finally {
    await sh("losetup", ["-d", dev]);
  }
}

/** `lifeboat gpt add-recovery` on `image`: the plan's digest from a dry run, then the run. */
export async function addRecovery(
  cli: string,
  image: string,
  size: string,
): Promise<{ ok: true } | { ok: false; code: string; text: string }> {
  const call = async (extra: readonly string[]) =>
    run("node", [cli, "gpt", "add-recovery", image, "--size", size, "--json", ...extra], {
      maxBuffer: 16 * 1024 * 1024,
    }).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
  const fail = (r: { stdout?: string; stderr?: string }) => {
    const text = `${String(r.stdout ?? "")} ${String(r.stderr ?? "")}`;
    return { ok: false as const, code: /"code":\s*"(\w+)"/.exec(text)?.[1] ?? "?", text };
  };
  const dry = await call(["--dry-run"]);
  if ("code" in dry && dry.code !== undefined && dry.code !== 0) return fail(dry);
  const digest = (JSON.parse(String(dry.stdout)) as { data?: { plan?: { digest?: string } } }).data
    ?.plan?.digest;
  if (digest === undefined) return { ok: false, code: "?", text: "no plan digest" };
  const r = await call(["--yes", "--confirm", digest]);
  if ("code" in r && r.code !== undefined && r.code !== 0) return fail(r);
  return { ok: true };
}

/** Check one crash state's image (changed in place: the command runs again on it). */
export async function checkGptState(image: string, want: GptExpectation): Promise<GptVerdict> {
  const failures: string[] = [];
  const clean = /No problems found/.test(await sh("sgdisk", ["-v", image]).catch((e) => String(e)));
  const list = await partitionList(image).catch(() => "");
  const which = list === want.oldTable ? "old" : list === want.newTable ? "new" : "other";
  const table: GptVerdict["table"] = which === "other" || clean ? which : `torn-${which}`;
  if (table === "other") failures.push(`the table is neither the old nor the new one:\n${list}`);
  for (const [i, d] of want.data.entries())
    if ((await rangeDigest(image, d.range)) !== d.sha256)
      failures.push(`data partition ${i + 1} changed`);
  const fs = which === "new" ? await recoveryFs(image, want.recovery) : "no-partition";
  const r = await addRecovery(want.cli, image, want.size);
  let again: GptVerdict["again"] = "failed";
  if (r.ok) again = "added";
  else if (r.code === "GPT_RECOVERY_EXISTS") again = "exists";
  else failures.push(`gpt add-recovery again: ${r.code}: ${r.text.slice(-800)}`);
  if (again === "failed") return { failures, table, fs, again, formatted: "already" };
  if (again === "exists" && which === "old")
    failures.push("gpt add-recovery again says the partition exists on the old table");
  // Whatever the state, after the command ran again the disk has the new table, clean.
  const after = await partitionList(image).catch(() => "");
  if (after !== want.newTable) failures.push(`after running again: the table is not the new one`);
  if (!/No problems found/.test(await sh("sgdisk", ["-v", image]).catch((e) => String(e))))
    failures.push("after running again: sgdisk -v finds problems");
  // A partition the cut left unformatted: provision stops there with CLI_RECOVERY_UNFORMATTED
  // and the command to run; run it, as its message says.
  let formatted: GptVerdict["formatted"] = "already";
  if ((await recoveryFs(image, want.recovery)) !== "ext4") {
    formatted = "as provision says";
    await mkfsRecovery(image, want.recovery);
    if ((await recoveryFs(image, want.recovery)) !== "ext4")
      failures.push("after running again: the recovery partition has no ext4 LIFEBOAT");
  }
  return { failures, table, fs, again, formatted };
}
