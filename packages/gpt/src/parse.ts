/**
 * Parsing: both copies decoded and checked, strictly or with recovery.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import { decodeEntries } from "./_internal/entries.js";
import { decodeHeader, type HeaderFields } from "./_internal/header.js";
import type { GptCopy, GptError } from "./errors.js";
import type { GptPartition, GptSource, GptTable } from "./model.js";
import { entryArraySectors } from "./model.js";
import { sourceFromBytes } from "./source.js";
import { validatePartitions } from "./validate.js";

interface DecodedCopy {
  readonly header: HeaderFields;
  readonly partitions: GptPartition[];
  readonly rawSlots: { slot: number; bytes: Uint8Array }[];
}

/** Where a parse reads from: a source, or a whole image in memory. */
export type GptInput = GptSource | Uint8Array;

/** Options for reading a table from bytes. */
export interface ParseOptions {
  /** Logical sector size when `input` is bytes (default 512). */
  readonly sectorSize?: number;
}

/** Both copies as found, each valid on its own or with its error. */
export interface GptInspection {
  readonly primary: Result<GptTable, GptError>;
  readonly backup: Result<GptTable, GptError>;
  /** Every problem found, copy errors and disagreements alike. Empty for a healthy table. */
  readonly problems: readonly GptError[];
}

/** A table rebuilt from whichever copy is intact, as gdisk does. */
export interface GptRecovery {
  readonly table: GptTable;
  /** The copy the table was taken from. */
  readonly from: GptCopy;
  /** What was wrong. Empty when nothing was. */
  readonly problems: readonly GptError[];
  /**
   * The problems that writing `table` back as it is does NOT repair. Today
   * that is `GPT_BACKUP_NOT_AT_END`: the table keeps the backup where it was
   * found, so call `relocateBackup(table, { diskSectors: table.diskSectors })`
   * before writing. Empty when writing `table` back repairs every problem.
   */
  readonly remainAfterWrite: readonly GptError[];
}

function toSource(input: GptInput, options: ParseOptions): Result<GptSource, GptError> {
  return input instanceof Uint8Array ? sourceFromBytes(input, options) : ok(input);
}

function decodeCopy(source: GptSource, lba: bigint, copy: GptCopy): Result<DecodedCopy, GptError> {
  return decodeHeader(source, lba, copy).andThen((header) =>
    decodeEntries(source, header, copy).andThen(({ partitions, rawSlots }) => {
      const checked = validatePartitions({ ...header, partitions });
      return checked.map(() => ({ header, partitions, rawSlots }));
    }),
  );
}

function buildTable(
  source: GptSource,
  chosen: DecodedCopy,
  from: GptCopy,
  other: DecodedCopy | undefined,
): GptTable {
  const h = chosen.header;
  const entrySectors = entryArraySectors({ ...h, sectorSize: source.sectorSize });
  const primary = from === "primary" ? chosen : other;
  const backup = from === "backup" ? chosen : other;
  const backupHeaderLba = from === "primary" ? h.alternateLba : h.myLba;
  const mbr = source.read(0n, 1) ?? new Uint8Array(source.sectorSize);
  return {
    sectorSize: source.sectorSize,
    diskSectors: source.sectorCount,
    diskGuid: h.diskGuid,
    revision: h.revision,
    headerSize: h.headerSize,
    firstUsableLba: h.firstUsableLba,
    lastUsableLba: h.lastUsableLba,
    primaryEntriesLba: primary?.header.entriesLba ?? 2n,
    backupEntriesLba: backup?.header.entriesLba ?? backupHeaderLba - entrySectors,
    backupHeaderLba,
    entryCount: h.entryCount,
    entrySize: h.entrySize,
    partitions: chosen.partitions,
    protectiveMbr: mbr.slice(),
    preserved: {
      headerReserved: h.headerReserved,
      ...(primary?.header.tail ? { primaryHeaderTail: primary.header.tail } : {}),
      ...(backup?.header.tail ? { backupHeaderTail: backup.header.tail } : {}),
      rawSlots: chosen.rawSlots,
    },
  };
}

function mismatch(a: DecodedCopy, b: DecodedCopy): GptError | undefined {
  const pa = a.header;
  const pb = b.header;
  const fields = [
    "diskGuid",
    "firstUsableLba",
    "lastUsableLba",
    "entryCount",
    "entrySize",
    "entriesCrc",
    "revision",
    "headerSize",
  ] as const;
  for (const field of fields) {
    if (pa[field] !== pb[field]) {
      return {
        code: "GPT_PRIMARY_BACKUP_MISMATCH",
        message: `The primary and backup GPT headers disagree on ${field} (${String(pa[field])} vs ${String(pb[field])}).`,
        field,
      };
    }
  }
  if (pb.alternateLba !== pa.myLba) {
    return {
      code: "GPT_PRIMARY_BACKUP_MISMATCH",
      message: `The backup GPT header points to LBA ${pb.alternateLba} for the primary, not ${pa.myLba}.`,
      field: "alternateLba",
    };
  }
  return undefined;
}

function examine(source: GptSource) {
  const last = source.sectorCount - 1n;
  const primary = decodeCopy(source, 1n, "primary");
  let backupLba = primary.isOk() ? primary.value.header.alternateLba : last;
  let backup = decodeCopy(source, backupLba, "backup");
  if (backup.isErr() && backupLba !== last && last > 1n) {
    const atEnd = decodeCopy(source, last, "backup");
    if (atEnd.isOk()) {
      backup = atEnd;
      backupLba = last;
    }
  }
  const problems: GptError[] = [];
  if (primary.isErr()) problems.push(primary.error);
  if (backup.isErr()) problems.push(backup.error);
  if (primary.isOk() && backup.isOk()) {
    const m = mismatch(primary.value, backup.value);
    if (m) problems.push(m);
  }
  if (backup.isOk() && backupLba !== last) {
    problems.push({
      code: "GPT_BACKUP_NOT_AT_END",
      message: `The backup GPT header is at LBA ${backupLba}, not at the disk's last LBA ${last}: the disk grew; relocate the backup.`,
      backupHeaderLba: backupLba,
      lastLba: last,
    });
  }
  return { primary, backup, problems };
}

/**
 * Parse a GPT strictly: both copies must be intact, agree, and the backup
 * must be at the disk's end. Any problem is the error (use
 * {@link recoverGpt} to repair from one copy).
 *
 * @example
 * ```ts
 * const table = parseGpt(imageBytes, { sectorSize: 512 });
 * if (table.isOk()) for (const p of table.value.partitions) console.log(p.slot, p.name);
 * else console.error(table.error.code); // e.g. "GPT_BAD_HEADER_CRC"
 * ```
 */
export function parseGpt(input: GptInput, options: ParseOptions = {}): Result<GptTable, GptError> {
  return toSource(input, options).andThen((source) => {
    const { primary, backup, problems } = examine(source);
    const first = problems[0];
    if (first !== undefined) return err(first);
    return ok(buildTable(source, primary._unsafeUnwrap(), "primary", backup._unsafeUnwrap()));
  });
}

/**
 * Look at both copies without judging: each copy's table or error, and every problem.
 *
 * @example
 * ```ts
 * const report = inspectGpt(source);
 * for (const p of report.problems) console.log(p.code, p.message);
 * ```
 */
export function inspectGpt(
  input: GptInput,
  options: ParseOptions = {},
): Result<GptInspection, GptError> {
  return toSource(input, options).map((source) => {
    const { primary, backup, problems } = examine(source);
    return {
      primary: primary.map((p) => buildTable(source, p, "primary", backup.unwrapOr(undefined))),
      backup: backup.map((b) => buildTable(source, b, "backup", primary.unwrapOr(undefined))),
      problems,
    };
  });
}

/**
 * Rebuild the table from the intact copy, as gdisk does: the primary when it
 * is valid, else the backup. Writing the result (`writeGpt`) restores both
 * copies where the table puts them; a backup that is not at the disk's end
 * stays there (listed in `remainAfterWrite`: `relocateBackup` first). Fails
 * with `GPT_NO_VALID_TABLE` when neither copy is usable.
 *
 * @example
 * ```ts
 * const r = recoverGpt(source);
 * if (r.isOk() && r.value.problems.length > 0) {
 *   const { table, remainAfterWrite } = r.value;
 *   const fixed = remainAfterWrite.length > 0 ? relocateBackup(table, { diskSectors: table.diskSectors }) : ok(table);
 *   if (fixed.isOk()) await writeGpt(runner, "/dev/sda", fixed.value);
 * }
 * ```
 */
export function recoverGpt(
  input: GptInput,
  options: ParseOptions = {},
): Result<GptRecovery, GptError> {
  return toSource(input, options).andThen((source) => {
    const { primary, backup, problems } = examine(source);
    const last = source.sectorCount - 1n;
    const recovered = (table: GptTable, from: GptCopy): GptRecovery => ({
      table,
      from,
      problems,
      remainAfterWrite:
        table.backupHeaderLba === last
          ? []
          : [
              problems.find((p) => p.code === "GPT_BACKUP_NOT_AT_END") ?? {
                code: "GPT_BACKUP_NOT_AT_END",
                message: `The backup GPT header is at LBA ${table.backupHeaderLba}, not at the disk's last LBA ${last}: relocate the backup before writing.`,
                backupHeaderLba: table.backupHeaderLba,
                lastLba: last,
              },
            ],
    });
    if (primary.isOk()) {
      return ok(
        recovered(
          buildTable(source, primary.value, "primary", backup.unwrapOr(undefined)),
          "primary",
        ),
      );
    }
    if (backup.isOk()) {
      return ok(recovered(buildTable(source, backup.value, "backup", undefined), "backup"));
    }
    return err<GptRecovery, GptError>({
      code: "GPT_NO_VALID_TABLE",
      message: `Neither GPT copy is usable: primary ${primary.error.code}, backup ${backup.error.code}.`,
      primary: primary.error,
      backup: backup.error,
    });
  });
}
