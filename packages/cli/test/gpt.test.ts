/**
 * `lifeboat gpt` on disk image files, the real binary (issue #19): a write
 * needs confirmation, one recovery partition per disk, GPT_NO_SPACE is exit 4
 * in bytes, 4Kn images, truncated images. sgdisk and sfdisk check every table
 * we write, and that a refused command wrote nothing.
 */
import { execFileSync } from "node:child_process";
import { copyFile, readFile, truncate, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { createImageFile, requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { diskTableSchema, planRunDataSchema } from "../src/json-schemas.js";
import { bin, cli, cliJson, cliJsonFailure, ensureBuilt } from "./support.js";

const RECOVERY = "d999c366-3126-4451-b3c1-be31e091158c";
let scratch: Scratch;
let disk: string;

beforeAll(async () => {
  requireTools("sgdisk", "sfdisk");
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-gpt-");
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

let n = 0;
beforeEach(async () => {
  disk = await createImageFile(scratch, `disk${n++}.img`, 64n * 1024n * 1024n);
  await sh("sgdisk", ["-o", "-n", "1:2048:+8M", "-t", "1:ef00", disk]);
});

const sfdiskTypes = async (image: string) =>
  (
    JSON.parse(await sh("sfdisk", ["-J", image])) as {
      partitiontable: { partitions: { type: string }[] };
    }
  ).partitiontable.partitions.map((p) => p.type.toLowerCase());

/** The plan's digest, from a dry run. */
const digestOf = (args: readonly string[]) => {
  const r = cli(["--json", ...args, "--dry-run"]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { data: { plan: { digest: string } } }).data.plan.digest;
};

describe("gpt add-recovery needs confirmation (issue #19: it wrote from a script without --yes)", () => {
  it("without a terminal and without --yes: CLI_NOT_CONFIRMED, exit 3, the disk unchanged", async () => {
    const before = await readFile(disk);
    const { code, doc } = cliJsonFailure(["gpt", "add-recovery", disk, "--size", "16M"]);
    expect(code).toBe(3);
    expect(doc.error.code).toBe("CLI_NOT_CONFIRMED");
    expect((await readFile(disk)).equals(before)).toBe(true);
    expect(await sfdiskTypes(disk)).not.toContain(RECOVERY);
  });

  it("--yes with another plan's digest: CONFIRMATION_MISMATCH, exit 3, the disk unchanged", async () => {
    const before = await readFile(disk);
    const { code, doc } = cliJsonFailure([
      "gpt",
      "add-recovery",
      disk,
      "--size",
      "16M",
      "--yes",
      "--confirm",
      "0".repeat(64),
    ]);
    expect(code).toBe(3);
    expect(doc.error.code).toBe("CONFIRMATION_MISMATCH");
    expect((await readFile(disk)).equals(before)).toBe(true);
  });

  it("--yes --confirm <digest> writes it (sgdisk -v, sfdisk -J); a second one is GPT_RECOVERY_EXISTS, exit 4", async () => {
    const args = ["gpt", "add-recovery", disk, "--size", "16M"];
    const r = cli(["--json", ...args, "--yes", "--confirm", digestOf(args)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await sh("sgdisk", ["-v", disk])).toContain("No problems found");
    expect(await sfdiskTypes(disk)).toEqual(["c12a7328-f81f-11d2-ba4b-00a0c93ec93b", RECOVERY]);

    const before = await readFile(disk);
    const again = cliJsonFailure([...args, "--dry-run"]);
    expect(again.code).toBe(4);
    expect(again.doc.error).toMatchObject({ code: "GPT_RECOVERY_EXISTS", slot: 2 });
    expect((await readFile(disk)).equals(before)).toBe(true);
  });
});

/** Filesystem type and label of partition 2 of `image`, read through a loop device at its offset. */
async function recoveryFilesystem(
  image: string,
): Promise<{ type?: string | undefined; label?: string | undefined }> {
  const parts = (
    JSON.parse(await sh("sfdisk", ["-J", image])) as {
      partitiontable: { sectorsize?: number; partitions: { start: number; size: number }[] };
    }
  ).partitiontable;
  const p = parts.partitions[1];
  if (!p) throw new Error("no partition 2");
  const ss = parts.sectorsize ?? 512;
  const dev = (
    await sh("losetup", [
      "--find",
      "--show",
      "--read-only",
      "--offset",
      String(p.start * ss),
      "--sizelimit",
      String(p.size * ss),
      image,
    ])
  ).trim();
  try {
    const out = execFileSync("blkid", ["-p", "-o", "export", dev], { encoding: "utf8" });
    const field = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(out)?.[1];
    return { type: field("TYPE"), label: field("LABEL") };
  } catch {
    return {}; // blkid: no signature
  } finally {
    await sh("losetup", ["--detach", dev]);
  }
}

const loopsOf = async (image: string) =>
  (await sh("losetup", ["--associated", image])).split("\n").filter(Boolean);

describe("gpt add-recovery makes the recovery filesystem (issue #16: the partition came without one)", () => {
  it("by default: a second step makes ext4 labelled LIFEBOAT through a loop device it detaches", async () => {
    requireRoot();
    const args = ["gpt", "add-recovery", disk, "--size", "16M"];
    const dry = cliJson([...args, "--dry-run"], planRunDataSchema);
    expect(dry.plan.steps.map((s) => s.kind)).toEqual(["gpt.write", "recovery.format"]);
    expect(dry.plan.steps.flatMap((s) => s.destroys)).toEqual([]);
    const r = cli(["--json", ...args, "--yes", "--confirm", digestOf(args)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await sh("sgdisk", ["-v", disk])).toContain("No problems found");
    expect(await recoveryFilesystem(disk)).toEqual({ type: "ext4", label: "LIFEBOAT" });
    expect(await loopsOf(disk)).toEqual([]);
  });

  it("--no-format writes the table only", async () => {
    requireRoot();
    const args = ["gpt", "add-recovery", disk, "--size", "16M", "--no-format"];
    const r = cli(["--json", ...args, "--yes", "--confirm", digestOf(args)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { data: { plan: { steps: { kind: string }[] } } };
    expect(doc.data.plan.steps.map((s) => s.kind)).toEqual(["gpt.write"]);
    expect(await sfdiskTypes(disk)).toEqual(["c12a7328-f81f-11d2-ba4b-00a0c93ec93b", RECOVERY]);
    expect(await recoveryFilesystem(disk)).toEqual({});
  });
});

/** Copy `sectors` 512-byte sectors at `lba` (negative: from the end) of `from` over `to`. */
async function spliceSectors(from: string, to: string, lba: number, sectors: number) {
  const src = await readFile(from);
  const dst = await readFile(to);
  const at = (lba < 0 ? src.length / 512 + lba : lba) * 512;
  src.copy(dst, at, at, at + sectors * 512);
  await writeFile(to, dst);
}

describe("gpt add-recovery after a power cut during its table write (issue #22: crash states)", () => {
  // writeGpt: backup entries + header, flush; primary entries, MBR, primary header, flush.
  const addRecovery = (image: string) => {
    const args = ["gpt", "add-recovery", image, "--size", "16M"];
    return cli(["--json", ...args, "--yes", "--confirm", digestOf(args)]);
  };

  it("backup copy new, primary old (GPT_PRIMARY_BACKUP_MISMATCH before): run again, it adds and rewrites both", async () => {
    const done = scratch.path(`done${n}.img`);
    await copyFile(disk, done);
    expect(addRecovery(done).code).toBe(0);
    await spliceSectors(done, disk, -33, 33); // the backup entries and header
    expect(await sh("sgdisk", ["-v", disk])).not.toContain("No problems found");
    const r = addRecovery(disk);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The plan the person confirms says the table is rewritten from one of its copies.
    expect(r.stdout).toContain("The two copies of the partition table");
    expect(await sh("sgdisk", ["-v", disk])).toContain("No problems found");
    expect(await sfdiskTypes(disk)).toEqual(["c12a7328-f81f-11d2-ba4b-00a0c93ec93b", RECOVERY]);
    expect(await recoveryFilesystem(disk)).toEqual({ type: "ext4", label: "LIFEBOAT" });
  });

  it("primary header new before its entries (GPT_BAD_ENTRIES_CRC before): run again, it repairs the table from the backup", async () => {
    const old = scratch.path(`old${n}.img`);
    await copyFile(disk, old);
    expect(addRecovery(disk).code).toBe(0);
    await spliceSectors(old, disk, 2, 32); // the primary entry array as it was
    expect(await sh("sgdisk", ["-v", disk])).not.toContain("No problems found");
    const r = addRecovery(disk);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("Repair the partition table");
    expect(r.stdout).toContain("The two copies of the partition table");
    expect(await sh("sgdisk", ["-v", disk])).toContain("No problems found");
    expect(await sfdiskTypes(disk)).toEqual(["c12a7328-f81f-11d2-ba4b-00a0c93ec93b", RECOVERY]);
  });
});

describe("gpt add-recovery on a terminal: the person types ADD", () => {
  const session = `lifeboat-cli-gpt-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
  const waitFor = async (pattern: RegExp): Promise<string> => {
    const until = Date.now() + 60_000;
    for (;;) {
      const text = tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session);
      if (pattern.test(text)) return text;
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}:\n${text}`);
      await sleep(200);
    }
  };
  const type = (line: string) => {
    tmux("send-keys", "-t", session, "-l", line);
    tmux("send-keys", "-t", session, "Enter");
  };

  it("a wrong word changes nothing (exit 3); ADD writes it (sgdisk -v)", async () => {
    requireTools("tmux");
    tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "60", "bash --norc --noprofile");
    try {
      const before = await readFile(disk);
      const run = (marker: string) =>
        type(
          `clear; echo ${marker}; node ${bin} gpt add-recovery ${disk} --size 16M; echo EXIT=$?`,
        );
      run("RUN-1");
      await waitFor(/RUN-1\n[\s\S]*Type ADD to run plan/);
      type("yes");
      await waitFor(/RUN-1\n[\s\S]*EXIT=3/);
      expect((await readFile(disk)).equals(before)).toBe(true);
      run("RUN-2");
      await waitFor(/RUN-2\n[\s\S]*Type ADD to run plan/);
      type("ADD");
      await waitFor(/RUN-2\n[\s\S]*EXIT=0/);
      expect(await sh("sgdisk", ["-v", disk])).toContain("No problems found");
      expect(await sfdiskTypes(disk)).toContain(RECOVERY);
    } finally {
      tmux("kill-session", "-t", session);
    }
  }, 120_000);
});

describe("GPT_NO_SPACE (issue #19: exit 1 where docs say 4, and only sectors)", () => {
  it("exits 4 and says the sizes in bytes", () => {
    const { code, doc } = cliJsonFailure(["gpt", "add-recovery", disk, "--size", "1G"]);
    expect(code).toBe(4);
    expect(doc.error).toMatchObject({
      code: "GPT_NO_SPACE",
      requestedBytes: 1024 * 1024 * 1024,
    });
    expect(doc.error.message).toContain("(1.0 GiB)");
    expect(doc.error.message).toMatch(/largest aligned free run is \d+ sectors \(\d+\.\d MiB\)/);
    const human = cli(["gpt", "add-recovery", disk, "--size", "1G"]);
    expect(human.code).toBe(4);
    expect(human.stderr).toContain("GiB");
  });
});

describe("4Kn disk images (issue #19: no sector-size option)", () => {
  it("gpt show reads a 4Kn image made by sgdisk: detected, or with --sector-size 4096; 512 and 1000 are refused", async () => {
    requireRoot();
    const image = await createImageFile(scratch, "disk4k.img", 64n * 1024n * 1024n);
    const device = (
      await sh("losetup", ["--find", "--show", "--sector-size", "4096", image])
    ).trim();
    try {
      await sh("sgdisk", ["-o", "-n", "1:256:+8M", "-t", "1:ef00", device]);
    } finally {
      await sh("losetup", ["-d", device]);
    }
    for (const extra of [[], ["--sector-size", "auto"], ["--sector-size", "4096"]]) {
      const t = cliJson(["gpt", "show", image, ...extra], diskTableSchema);
      expect(t.sectorSize).toBe(4096);
      expect(t.partitions.map((p) => [p.firstLba, p.sizeBytes])).toEqual([[256, 8 * 1024 * 1024]]);
    }
    expect(cliJsonFailure(["gpt", "show", image, "--sector-size", "512"]).code).not.toBe(0);
    const bad = cliJsonFailure(["gpt", "show", image, "--sector-size", "1000"]);
    expect(bad.code).toBe(2);
    expect(bad.doc.error.code).toBe("CLI_USAGE");
  });

  it("gpt add-recovery on a 4Kn image writes 4096-byte sectors (sgdisk -v on a 4Kn loop device)", async () => {
    requireRoot();
    const image = await createImageFile(scratch, "add4k.img", 128n * 1024n * 1024n);
    const attach = async () =>
      (await sh("losetup", ["--find", "--show", "--sector-size", "4096", image])).trim();
    let device = await attach();
    try {
      await sh("sgdisk", ["-o", "-n", "1:256:+8M", "-t", "1:ef00", device]);
    } finally {
      await sh("losetup", ["-d", device]);
    }
    const args = ["gpt", "add-recovery", image, "--size", "16M"];
    const r = cli(["--json", ...args, "--yes", "--confirm", digestOf(args)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    device = await attach();
    try {
      expect(await sh("sgdisk", ["-v", device])).toContain("No problems found");
      expect(await sfdiskTypes(device)).toContain(RECOVERY);
    } finally {
      await sh("losetup", ["-d", device]);
    }
  });
});

describe("truncated images (issue #19: GPT_BAD_HEADER where docs promise GPT_TRUNCATED)", () => {
  it("gpt show on an image cut short is GPT_TRUNCATED", async () => {
    await truncate(disk, 32 * 1024 * 1024);
    const { code, doc } = cliJsonFailure(["gpt", "show", disk]);
    expect(code).toBe(1);
    expect(doc.error.code).toBe("GPT_TRUNCATED");
  });
});
