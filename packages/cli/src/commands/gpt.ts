import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import {
  createPlan,
  journalFiles,
  lifeboatError,
  lockFile,
  type Plan,
  readJournal,
} from "@lifeboat/core";
import {
  attachPartition,
  type GptIoError,
  type GptPartition,
  type GptTable,
  planRecoveryPartition,
  type ReadGptOptions,
  readGpt,
  readGptRecovering,
  writeGpt,
} from "@lifeboat/gpt";
import type { Command } from "commander";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { tableSummary } from "../machine-state.js";
import { RECOVERY_FS_LABEL } from "../recovery-fs.js";
import { runPlan } from "../run-plan.js";
import { drawSummary } from "../ui/disk-view.js";
import { formatBytes } from "../ui/format.js";
import { confirmOptions, guarded, must, usage } from "./_shared.js";
import type { Wrap } from "./index.js";

/** Parse a size like `2G`, `512M`, `1.5GiB` or a byte count. */
export function parseSize(text: string): bigint | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[
    (m[2] ?? "").toUpperCase() as "" | "K" | "M" | "G" | "T"
  ];
  return BigInt(Math.round(Number(m[1]) * mult));
}

interface SectorSizeOpts {
  sectorSize?: string;
}

/** `--sector-size 512|4096|auto` as read options; `undefined` for anything else. */
function readOptions(opts: SectorSizeOpts): ReadGptOptions | undefined {
  const given = opts.sectorSize ?? "auto";
  if (given === "auto") return {};
  if (given === "512" || given === "4096") return { sectorSize: Number(given) as 512 | 4096 };
  return undefined;
}

const SECTOR_SIZE_USAGE = (given: string | undefined) =>
  `bad --sector-size: ${given} (512, 4096 or auto)`;

async function show(ctx: CliContext, disk: string, opts: SectorSizeOpts): Promise<ExitCodeValue> {
  const read = readOptions(opts);
  if (read === undefined) return usage(ctx, "gpt show", SECTOR_SIZE_USAGE(opts.sectorSize));
  return guarded(ctx, "gpt show", async () => {
    const table = must(await readGpt(ctx.runner, disk, read));
    return succeed(ctx, "gpt show", tableSummary(disk, table), (d) => drawSummary(d));
  });
}

/** What a write interrupted between the two copies leaves: `writeGpt` keeps one copy intact. */
const TORN: ReadonlySet<string> = new Set([
  "GPT_PRIMARY_BACKUP_MISMATCH",
  "GPT_BAD_HEADER_CRC",
  "GPT_BAD_ENTRIES_CRC",
]);

/**
 * The table to edit. Read strictly; a table that a power cut left torn
 * between its two copies (`writeGpt` writes the backup, flushes, then the
 * primary, so one copy is always intact) is read from its intact copy, the
 * primary first, as the kernel and sgdisk read it; `torn` says so, and the
 * write rewrites both copies. Anything else stays an error. Without this, an
 * interrupted `gpt add-recovery` could be neither run again nor resumed
 * (GPT_PRIMARY_BACKUP_MISMATCH, GPT_BAD_ENTRIES_CRC: the crash-state suite).
 */
function readForEdit(
  ctx: CliContext,
  disk: string,
  read: ReadGptOptions,
): ResultAsync<{ table: GptTable; torn: boolean }, GptIoError> {
  return readGpt(ctx.runner, disk, read)
    .map((table) => ({ table, torn: false }))
    .orElse((e) =>
      TORN.has(e.code)
        ? readGptRecovering(ctx.runner, disk, read).andThen((r) =>
            r.remainAfterWrite.length === 0 && r.problems.every((p) => TORN.has(p.code))
              ? okAsync({ table: r.table, torn: true })
              : errAsync<{ table: GptTable; torn: boolean }, GptIoError>(e),
          )
        : errAsync(e),
    );
}

interface AddOpts extends SectorSizeOpts {
  size: string;
  placement?: "first-fit" | "end";
  name?: string;
  yes?: boolean;
  confirm?: string;
  dryRun?: boolean;
  /** `--no-format` makes it false: the table only, no filesystem. */
  format?: boolean;
}

/**
 * Make the recovery filesystem (ext4, label `LIFEBOAT`) on the new
 * partition, through a loop device at its offset and size: the same on an
 * image file and on a disk, whatever partition devices the kernel made.
 * The partition was free space a moment ago, so `-F`: a stale signature
 * left there by an earlier use is not a filesystem anyone has.
 */
function formatRecovery(
  ctx: CliContext,
  disk: string,
  partition: Pick<GptPartition, "firstLba" | "lastLba">,
  sectorSize: 512 | 4096,
) {
  return attachPartition(ctx.runner, disk, partition, { sectorSize, signal: ctx.signal }).andThen(
    (loop) =>
      ctx.runner
        .run("mkfs.ext4", ["-F", "-q", "-L", RECOVERY_FS_LABEL, "--", loop.device], {
          signal: ctx.signal,
        })
        .andThen(() => loop.detach())
        .orElse((e) => loop.detach().andThen(() => errAsync(e))),
  );
}

async function addRecovery(ctx: CliContext, disk: string, opts: AddOpts): Promise<ExitCodeValue> {
  const bytes = parseSize(opts.size);
  if (bytes === undefined) return usage(ctx, "gpt add-recovery", `bad size: ${opts.size}`);
  const read = readOptions(opts);
  if (read === undefined) return usage(ctx, "gpt add-recovery", SECTOR_SIZE_USAGE(opts.sectorSize));
  return guarded(ctx, "gpt add-recovery", async () => {
    const { table, torn } = must(await readForEdit(ctx, disk, read));
    const carved = planRecoveryPartition({
      kind: "carve",
      table,
      recoveryBytes: bytes,
      placement: opts.placement ?? "end",
      ...(opts.name ? { name: opts.name } : {}),
    });
    // A torn table that already holds the recovery partition (a power cut during the write):
    // the plan only rewrites both copies from the intact one. Its filesystem is left as it is;
    // provision says CLI_RECOVERY_UNFORMATTED, with the command, when there is none.
    const exists =
      carved.isErr() && carved.error.code === "GPT_RECOVERY_EXISTS" ? carved.error : null;
    const existing =
      torn && exists ? table.partitions.find((p) => p.slot === exists.slot) : undefined;
    const repair = existing !== undefined;
    const layout = existing ? { table, recovery: existing } : must(carved);
    const r = layout.recovery;
    const plan: Plan = must(
      createPlan({
        kind: "gpt-add-recovery",
        title: repair
          ? `Repair the partition table of ${disk} (its recovery partition is there)`
          : `Add a ${formatBytes(bytes)} recovery partition to ${disk}`,
        target: disk,
        // The person confirming should know the table is rewritten from one of its copies.
        warnings: torn
          ? [
              `The two copies of the partition table on ${disk} differ (an interrupted write, or damage): both are written again from the intact one.`,
            ]
          : [],
        steps: [
          {
            id: "write-gpt",
            kind: "gpt.write",
            title: repair
              ? `Rewrite both copies of the partition table from the intact one (an interrupted write left them different); partition ${r.slot} "${r.name}" is in it`
              : `Write the partition table with partition ${r.slot} "${r.name}" (LBA ${r.firstLba}-${r.lastLba}) in free space`,
            params: { disk, before: table.partitions.length, slot: r.slot },
            destroys: [],
            reversible: true,
            preconditions: ["the table on the disk is the one read when planning"],
          },
          ...(opts.format === false || repair
            ? []
            : [
                {
                  id: "format-recovery",
                  kind: "recovery.format",
                  title: `Make an ext4 filesystem labelled ${RECOVERY_FS_LABEL} on the new partition ${r.slot} (it was free space)`,
                  params: { disk, slot: r.slot, label: RECOVERY_FS_LABEL },
                  destroys: [],
                  reversible: true,
                  preconditions: [`partition ${r.slot} is the recovery partition just written`],
                },
              ]),
        ],
      }),
    );
    if (!ctx.json) ctx.stdout.write(`${drawSummary(tableSummary(disk, layout.table))}\n\n`);
    // One process at a time writes a disk's table (the same lock as every machine command).
    const lock = must(await lockFile(ctx.runner, disk));
    try {
      return await runPlan(
        ctx,
        plan,
        {
          "gpt.write": () =>
            readForEdit(ctx, disk, { sectorSize: table.sectorSize }).andThen((read) => {
              const now = read.table;
              if (now.partitions.some((p) => p.slot === r.slot && p.typeGuid === r.typeGuid))
                // Already written (a resumed run); a torn table rewritten from its intact copy.
                return read.torn
                  ? writeGpt(ctx.runner, disk, now, { signal: ctx.signal }).map(() => undefined)
                  : okAsync(undefined);
              if (now.partitions.length !== table.partitions.length)
                return errAsync(
                  lifeboatError(
                    "PRECONDITION_FAILED",
                    "The partition table changed since planning.",
                    {},
                  ),
                );
              return writeGpt(ctx.runner, disk, layout.table, { signal: ctx.signal }).map(
                () => undefined,
              );
            }),
          "recovery.format": () =>
            readForEdit(ctx, disk, { sectorSize: table.sectorSize }).andThen(({ table: now }) => {
              const p = now.partitions.find((x) => x.slot === r.slot && x.typeGuid === r.typeGuid);
              if (!p || p.firstLba !== r.firstLba || p.lastLba !== r.lastLba)
                return errAsync(
                  lifeboatError(
                    "PRECONDITION_FAILED",
                    `Partition ${r.slot} is not the recovery partition this plan wrote.`,
                    {},
                  ),
                );
              return formatRecovery(ctx, disk, p, table.sectorSize);
            }),
        },
        {
          command: "gpt add-recovery",
          // It destroys nothing, but it writes the disk's partition table: confirmed like every write.
          confirmWrites: true,
          word: "ADD",
          journalPath: await gptJournal(table.diskGuid),
          ...(opts.yes ? { yes: true } : {}),
          ...(opts.confirm ? { confirm: opts.confirm } : {}),
          ...(opts.dryRun ? { dryRun: true } : {}),
          extra: async () => ({
            recovery: tableSummary(disk, layout.table).partitions.find((p) => p.number === r.slot),
          }),
        },
      );
    } finally {
      await lock.release();
    }
  });
}

/**
 * The journal of a partition-table write: in a persistent directory keyed by
 * the disk's GUID (never beside the disk: for a device that is /dev, gone at
 * reboot). A finished journal is removed so it never blocks the next write.
 */
async function gptJournal(diskGuid: string): Promise<string> {
  const dir = path.join(GPT_JOURNAL_DIR, diskGuid.toLowerCase());
  await mkdir(dir, { recursive: true });
  const journalPath = path.join(dir, "gpt-journal.json");
  const j = await readJournal(journalPath);
  if (j.isOk() && j.value.status === "done")
    for (const slot of journalFiles(journalPath)) await rm(slot, { force: true });
  return journalPath;
}

/** Where partition-table writes keep their journals. */
export const GPT_JOURNAL_DIR = "/var/lib/lifeboat/journals";

const SECTOR_SIZE_FLAGS = "--sector-size <bytes>";
const SECTOR_SIZE_HELP =
  "sector size of a disk image: 512, 4096 or auto (default: auto, from where the GPT header is); a block device's own is always used";

/** `lifeboat gpt show|add-recovery`. */
export function registerGpt(program: Command, wrap: Wrap): void {
  const gpt = program.command("gpt").description("GUID partition tables (disks and disk images)");
  gpt
    .command("show <disk>")
    .description("show a disk's partitions, drawn to scale, the recovery partition marked")
    .option(SECTOR_SIZE_FLAGS, SECTOR_SIZE_HELP)
    .action(wrap(show));
  confirmOptions(
    gpt
      .command("add-recovery <disk>")
      .description(
        "carve the Lifeboat recovery partition out of free space and make its filesystem",
      )
      .requiredOption("--size <size>", "size, e.g. 2G")
      .option(
        "--placement <where>",
        "first-fit or end (default end: the end of the last gap that fits)",
      )
      .option("--name <name>", 'partition name (default "Lifeboat Recovery")')
      .option(
        "--no-format",
        `write the table only; by default the new partition also gets its filesystem (ext4, label ${RECOVERY_FS_LABEL})`,
      )
      .option(SECTOR_SIZE_FLAGS, SECTOR_SIZE_HELP),
  ).action(wrap(addRecovery));
}
