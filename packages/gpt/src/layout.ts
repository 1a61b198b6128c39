/**
 * Layout edits: pure functions from a table to a new table or a typed error.
 *
 * @module
 */
import { formatBytes } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import { alignDown, alignUp, ceilDiv } from "./_internal/bytes.js";
import { freeGaps } from "./_internal/gaps.js";
import { NAME_UNITS } from "./_internal/name.js";
import type { GptError, GptNoSpaceError } from "./errors.js";
import { isGuid, randomGuid } from "./guid.js";
import { mbrKind, protectiveMbr } from "./mbr.js";
import type { GptPartition, GptTable, SectorSize } from "./model.js";
import { entryArraySectors } from "./model.js";
import { isSectorSize } from "./source.js";
import { validatePartitions } from "./validate.js";

/** One mebibyte: the default alignment of partition starts. */
export const MiB = 1024n * 1024n;

/** Options for {@link createGptTable}. */
export interface CreateTableOptions {
  /** Disk size in bytes (a multiple of the sector size). */
  readonly diskBytes: bigint;
  readonly sectorSize?: SectorSize;
  /** Disk GUID; random when omitted. */
  readonly diskGuid?: string;
  /** Entries in the array (default 128, as sgdisk). */
  readonly entryCount?: number;
}

/**
 * An empty table for a disk, laid out as `sgdisk -o` does (128 entries,
 * entries right after each header, sgdisk's protective MBR).
 *
 * @example
 * ```ts
 * const table = createGptTable({ diskBytes: 64n * MiB });
 * ```
 */
export function createGptTable(options: CreateTableOptions): Result<GptTable, GptError> {
  const sectorSize = options.sectorSize ?? 512;
  if (!isSectorSize(sectorSize) || options.diskBytes % BigInt(sectorSize) !== 0n) {
    return err({
      code: "GPT_BAD_SECTOR_SIZE",
      message: `Disk size ${options.diskBytes} is not a whole number of ${sectorSize}-byte sectors (512 or 4096 supported).`,
      sectorSize,
    });
  }
  const entryCount = options.entryCount ?? 128;
  const diskGuid = (options.diskGuid ?? randomGuid()).toLowerCase();
  if (!isGuid(diskGuid)) return invalid("diskGuid", `"${diskGuid}" is not a GUID`);
  if (!Number.isInteger(entryCount) || entryCount < 1 || entryCount * 128 > 4 * 1024 * 1024) {
    return invalid("entryCount", `${entryCount} entries is out of range`);
  }
  const diskSectors = options.diskBytes / BigInt(sectorSize);
  const entrySectors = entryArraySectors({ entryCount, entrySize: 128, sectorSize });
  const firstUsableLba = 2n + entrySectors;
  const backupHeaderLba = diskSectors - 1n;
  const backupEntriesLba = backupHeaderLba - entrySectors;
  const lastUsableLba = backupEntriesLba - 1n;
  if (lastUsableLba < firstUsableLba) {
    return err({
      code: "GPT_DISK_TOO_SMALL",
      message: `A disk of ${diskSectors} sectors is too small for a GPT with ${entryCount} entries.`,
      diskSectors,
      expectedSectors: 2n * entrySectors + 4n,
    });
  }
  return ok({
    sectorSize,
    diskSectors,
    diskGuid,
    revision: 0x00010000,
    headerSize: 92,
    firstUsableLba,
    lastUsableLba,
    primaryEntriesLba: 2n,
    backupEntriesLba,
    backupHeaderLba,
    entryCount,
    entrySize: 128,
    partitions: [],
    protectiveMbr: protectiveMbr(diskSectors, sectorSize),
    preserved: { headerReserved: 0, rawSlots: [] },
  });
}

/** Where {@link addPartition} puts a partition. */
export type Placement =
  | "first-fit"
  /** The end of the last gap that fits (recovery partitions at the disk end). */
  | "end"
  | { readonly startLba: bigint };

/** A partition to add. */
export interface NewPartition {
  /** Size in bytes (rounded up to whole sectors), or `"rest"`: to the end of the chosen gap (the largest, unless placed). */
  readonly size: bigint | "rest";
  /** Type GUID (see `lookupPartitionType`). */
  readonly typeGuid: string;
  readonly name?: string;
  readonly attributes?: bigint;
  /** PARTUUID; random when omitted. */
  readonly uniqueGuid?: string;
  /** Slot to use (1-based); the first free one when omitted. */
  readonly slot?: number;
  /** Default `"first-fit"`. */
  readonly placement?: Placement;
  /** Alignment of the start in bytes (default 1 MiB; the sector size disables it). */
  readonly alignmentBytes?: bigint;
}

function invalid(argument: string, why: string): Result<never, GptError> {
  return err({ code: "GPT_INVALID_ARGUMENT", message: `Invalid ${argument}: ${why}.`, argument });
}

function checkName(name: string): Result<void, GptError> {
  if (name.length > NAME_UNITS)
    return invalid("name", `"${name}" is longer than 36 UTF-16 code units`);
  if (name.includes("\u0000")) return invalid("name", "it contains a NUL character");
  return ok(undefined);
}

function withoutRaw(table: GptTable, slot: number): GptTable["preserved"] {
  return { ...table.preserved, rawSlots: table.preserved.rawSlots.filter((r) => r.slot !== slot) };
}

function bySlot(partitions: readonly GptPartition[]): GptPartition[] {
  return [...partitions].sort((a, b) => a.slot - b.slot);
}

/**
 * Add a partition, aligned (1 MiB by default), in the first gap that fits,
 * at the end of the disk, or at a given start.
 *
 * @example
 * ```ts
 * const next = addPartition(table, { size: 600n * MiB, typeGuid: ESP_TYPE, name: "EFI System Partition" });
 * if (next.isErr() && next.error.code === "GPT_NO_SPACE") console.log(next.error.largestFreeSectors);
 * ```
 */
export function addPartition(table: GptTable, spec: NewPartition): Result<GptTable, GptError> {
  const ss = BigInt(table.sectorSize);
  const alignBytes = spec.alignmentBytes ?? MiB;
  if (alignBytes <= 0n || alignBytes % ss !== 0n) {
    return invalid("alignmentBytes", `${alignBytes} is not a positive multiple of ${ss}`);
  }
  const align = alignBytes / ss;
  if (!isGuid(spec.typeGuid)) return invalid("typeGuid", `"${spec.typeGuid}" is not a GUID`);
  const uniqueGuid = (spec.uniqueGuid ?? randomGuid()).toLowerCase();
  if (!isGuid(uniqueGuid)) return invalid("uniqueGuid", `"${uniqueGuid}" is not a GUID`);
  const name = spec.name ?? "";
  const named = checkName(name);
  if (named.isErr()) return err(named.error);
  const attributes = spec.attributes ?? 0n;
  if (attributes < 0n || attributes >= 1n << 64n)
    return invalid("attributes", "not a 64-bit value");
  if (spec.size !== "rest" && spec.size <= 0n) return invalid("size", "must be positive");
  const slot = pickSlot(table, spec.slot);
  if (slot.isErr()) return err(slot.error);
  const range = place(
    table,
    spec.size === "rest" ? undefined : ceilDiv(spec.size, ss),
    spec.placement ?? "first-fit",
    align,
  );
  if (range.isErr()) return err(range.error);
  const partition: GptPartition = {
    slot: slot.value,
    typeGuid: spec.typeGuid.toLowerCase(),
    uniqueGuid,
    firstLba: range.value.first,
    lastLba: range.value.last,
    attributes,
    name,
  };
  return ok({
    ...table,
    partitions: bySlot([...table.partitions, partition]),
    preserved: withoutRaw(table, slot.value),
  });
}

function pickSlot(table: GptTable, wanted: number | undefined): Result<number, GptError> {
  const used = new Set(table.partitions.map((p) => p.slot));
  if (wanted !== undefined) {
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > table.entryCount) {
      return invalid("slot", `${wanted} is outside 1..${table.entryCount}`);
    }
    if (used.has(wanted)) {
      return err({
        code: "GPT_SLOT_IN_USE",
        message: `Slot ${wanted} is already used.`,
        slot: wanted,
      });
    }
    return ok(wanted);
  }
  for (let s = 1; s <= table.entryCount; s++) if (!used.has(s)) return ok(s);
  return err({
    code: "GPT_NO_FREE_SLOT",
    message: `All ${table.entryCount} partition entries are used.`,
    entryCount: table.entryCount,
  });
}

function place(
  table: GptTable,
  sectors: bigint | undefined,
  placement: Placement,
  align: bigint,
): Result<{ first: bigint; last: bigint }, GptError> {
  const gaps = freeGaps(table);
  // Aligned runs: starts rounded up to the alignment.
  const runs = gaps
    .map((g) => ({ first: alignUp(g.first, align), last: g.last }))
    .filter((g) => g.first <= g.last);
  const largest = runs.reduce(
    (m, g) => (g.last - g.first + 1n > m ? g.last - g.first + 1n : m),
    0n,
  );
  const noSpace = (requested: bigint): Result<never, GptError> =>
    err(noSpaceError(table, requested, largest, "No free space for"));
  if (typeof placement === "object") {
    const start = placement.startLba;
    if (start % align !== 0n) {
      return err({
        code: "GPT_MISALIGNED",
        message: `LBA ${start} is not a multiple of the ${align}-sector alignment.`,
        lba: start,
        alignmentSectors: align,
      });
    }
    const last = sectors === undefined ? undefined : start + sectors - 1n;
    if (start < table.firstUsableLba || (last ?? start) > table.lastUsableLba) {
      return err({
        code: "GPT_OUT_OF_RANGE",
        message: `LBA ${start}-${last ?? start} is outside the usable range ${table.firstUsableLba}-${table.lastUsableLba}.`,
        slot: 0,
        firstLba: start,
        lastLba: last ?? start,
        firstUsableLba: table.firstUsableLba,
        lastUsableLba: table.lastUsableLba,
      });
    }
    const gap = gaps.find((g) => g.first <= start && start <= g.last);
    const hit = table.partitions.find((p) => p.firstLba <= (last ?? start) && p.lastLba >= start);
    if (gap === undefined || (last !== undefined && last > gap.last)) {
      const other = hit ?? table.partitions.find((p) => p.firstLba > start);
      return err({
        code: "GPT_OVERLAP",
        message: `LBA ${start}-${last ?? start} overlaps partition ${other?.slot ?? "?"}.`,
        slots: [0, other?.slot ?? 0],
        firstLba: start,
        lastLba: last ?? start,
      });
    }
    return ok({ first: start, last: last ?? gap.last });
  }
  if (sectors === undefined) {
    const best = runs.reduce<{ first: bigint; last: bigint } | undefined>(
      (m, g) => (m === undefined || g.last - g.first > m.last - m.first ? g : m),
      undefined,
    );
    if (best === undefined) return noSpace(1n);
    return ok(best);
  }
  if (placement === "end") {
    for (let i = runs.length - 1; i >= 0; i--) {
      const g = runs[i]!;
      const first = alignDown(g.last - sectors + 1n, align);
      if (first >= g.first) return ok({ first, last: first + sectors - 1n });
    }
    return noSpace(sectors);
  }
  for (const g of runs)
    if (g.last - g.first + 1n >= sectors)
      return ok({ first: g.first, last: g.first + sectors - 1n });
  return noSpace(sectors);
}

function findSlot(table: GptTable, slot: number): Result<GptPartition, GptError> {
  const p = table.partitions.find((x) => x.slot === slot);
  return p
    ? ok(p)
    : err({ code: "GPT_NO_SUCH_PARTITION", message: `There is no partition ${slot}.`, slot });
}

/**
 * Delete the partition in `slot`.
 *
 * @example
 * ```ts
 * const next = deletePartition(table, 3);
 * ```
 */
export function deletePartition(table: GptTable, slot: number): Result<GptTable, GptError> {
  return findSlot(table, slot).map(() => ({
    ...table,
    partitions: table.partitions.filter((p) => p.slot !== slot),
    preserved: withoutRaw(table, slot),
  }));
}

/**
 * Resize the partition in `slot` by moving its end: grow into the free
 * space after it, or shrink (the caller shrinks the file system first).
 *
 * @example
 * ```ts
 * resizePartition(table, 4, { size: "max" }); // grow to the next partition or the usable end
 * ```
 */
export function resizePartition(
  table: GptTable,
  slot: number,
  change: { readonly size: bigint | "max" },
): Result<GptTable, GptError> {
  return findSlot(table, slot).andThen((p) => {
    let next = table.lastUsableLba + 1n;
    for (const x of table.partitions)
      if (x.firstLba > p.firstLba && x.firstLba < next) next = x.firstLba;
    const limit = next - 1n;
    const ss = BigInt(table.sectorSize);
    if (change.size !== "max" && change.size <= 0n) return invalid("size", "must be positive");
    const last = change.size === "max" ? limit : p.firstLba + ceilDiv(change.size, ss) - 1n;
    if (last > limit) {
      return err(
        noSpaceError(
          table,
          last - p.firstLba + 1n,
          limit - p.firstLba + 1n,
          `Partition ${slot} cannot grow to`,
        ),
      );
    }
    return ok(replace(table, { ...p, lastLba: last }));
  });
}

function replace(table: GptTable, partition: GptPartition): GptTable {
  return {
    ...table,
    partitions: table.partitions.map((x) => (x.slot === partition.slot ? partition : x)),
    preserved: withoutRaw(table, partition.slot),
  };
}

/** Fields {@link updatePartition} can change. */
export interface PartitionPatch {
  readonly name?: string;
  readonly typeGuid?: string;
  readonly attributes?: bigint;
  readonly uniqueGuid?: string;
}

/**
 * Set a partition's name, type, attributes or unique GUID.
 *
 * @example
 * ```ts
 * updatePartition(table, 3, { name: "Lifeboat Recovery", attributes: attributeMask("noAuto", "readOnly") });
 * ```
 */
export function updatePartition(
  table: GptTable,
  slot: number,
  patch: PartitionPatch,
): Result<GptTable, GptError> {
  return findSlot(table, slot).andThen((p) => {
    if (patch.name !== undefined) {
      const named = checkName(patch.name);
      if (named.isErr()) return err(named.error);
    }
    for (const key of ["typeGuid", "uniqueGuid"] as const) {
      const value = patch[key];
      if (value !== undefined && !isGuid(value)) return invalid(key, `"${value}" is not a GUID`);
    }
    if (
      patch.attributes !== undefined &&
      (patch.attributes < 0n || patch.attributes >= 1n << 64n)
    ) {
      return invalid("attributes", "not a 64-bit value");
    }
    return ok(
      replace(table, {
        ...p,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.typeGuid !== undefined ? { typeGuid: patch.typeGuid.toLowerCase() } : {}),
        ...(patch.uniqueGuid !== undefined ? { uniqueGuid: patch.uniqueGuid.toLowerCase() } : {}),
        ...(patch.attributes !== undefined ? { attributes: patch.attributes } : {}),
      }),
    );
  });
}

/**
 * Move the backup entries and header to the end of a disk of `diskSectors`
 * sectors (after the disk grew) and extend the usable range to match; also
 * refreshes the protective MBR's size. Fails with `GPT_OUT_OF_RANGE` when
 * a partition would end past the new usable range (the disk shrank).
 *
 * @example
 * ```ts
 * const grown = relocateBackup(table, { diskSectors: 4194304n });
 * ```
 */
export function relocateBackup(
  table: GptTable,
  options: { readonly diskSectors: bigint },
): Result<GptTable, GptError> {
  const entrySectors = entryArraySectors(table);
  const backupHeaderLba = options.diskSectors - 1n;
  const backupEntriesLba = backupHeaderLba - entrySectors;
  const lastUsableLba = backupEntriesLba - 1n;
  if (lastUsableLba < table.firstUsableLba) {
    return err({
      code: "GPT_DISK_TOO_SMALL",
      message: `A disk of ${options.diskSectors} sectors cannot hold this table.`,
      diskSectors: options.diskSectors,
      expectedSectors: table.firstUsableLba + entrySectors + 2n,
    });
  }
  const next: GptTable = {
    ...table,
    diskSectors: options.diskSectors,
    backupHeaderLba,
    backupEntriesLba,
    lastUsableLba,
    protectiveMbr:
      mbrKind(table.protectiveMbr) === "protective"
        ? protectiveMbr(options.diskSectors, table.sectorSize)
        : table.protectiveMbr,
  };
  return validatePartitions(next).map(() => next);
}

/** `GPT_NO_SPACE` in sectors and in bytes a person reads. */
function noSpaceError(
  table: GptTable,
  requested: bigint,
  largest: bigint,
  what: string,
): GptNoSpaceError {
  const ss = BigInt(table.sectorSize);
  const size = (sectors: bigint) => `${sectors} sectors (${formatBytes(sectors * ss)})`;
  return {
    code: "GPT_NO_SPACE",
    message: `${what} ${size(requested)}: the largest aligned free run is ${size(largest)}.`,
    requestedSectors: requested,
    largestFreeSectors: largest,
    requestedBytes: requested * ss,
    largestFreeBytes: largest * ss,
  };
}
