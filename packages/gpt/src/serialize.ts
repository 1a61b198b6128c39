/**
 * Serialising a table into the sectors to write, in crash-safe order.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import { encodeEntries } from "./_internal/entries.js";
import { encodeHeader } from "./_internal/header.js";
import type { GptError } from "./errors.js";
import { isGuid } from "./guid.js";
import type { GptTable, GptWrite } from "./model.js";
import { validatePartitions } from "./validate.js";

/**
 * Serialise a table: the sectors of both copies and the protective MBR, in
 * the order they must be written so that a crash at any point leaves at
 * least one intact, self-consistent copy (backup entries, backup header,
 * primary entries, MBR, primary header; see docs/gpt.md). A parsed table
 * serialises to exactly the bytes it was read from.
 *
 * @example
 * ```ts
 * const writes = serializeGpt(table);
 * if (writes.isOk()) for (const w of writes.value) console.log(w.region, w.lba, w.bytes.length);
 * ```
 */
export function serializeGpt(table: GptTable): Result<GptWrite[], GptError> {
  const checked = checkTable(table);
  if (checked.isErr()) return err(checked.error);
  const { bytes: entries, crc } = encodeEntries(
    table.partitions,
    table.preserved.rawSlots,
    table.entryCount,
    table.entrySize,
    table.sectorSize,
  );
  const common = {
    revision: table.revision,
    headerSize: table.headerSize,
    headerReserved: table.preserved.headerReserved,
    firstUsableLba: table.firstUsableLba,
    lastUsableLba: table.lastUsableLba,
    diskGuid: table.diskGuid,
    entryCount: table.entryCount,
    entrySize: table.entrySize,
    entriesCrc: crc,
  };
  const primaryHeader = encodeHeader(
    {
      ...common,
      myLba: 1n,
      alternateLba: table.backupHeaderLba,
      entriesLba: table.primaryEntriesLba,
      tail: table.preserved.primaryHeaderTail,
    },
    table.sectorSize,
  );
  const backupHeader = encodeHeader(
    {
      ...common,
      myLba: table.backupHeaderLba,
      alternateLba: 1n,
      entriesLba: table.backupEntriesLba,
      tail: table.preserved.backupHeaderTail,
    },
    table.sectorSize,
  );
  const mbr = new Uint8Array(table.sectorSize);
  mbr.set(table.protectiveMbr.subarray(0, table.sectorSize));
  return ok([
    { region: "backup-entries", lba: table.backupEntriesLba, bytes: entries },
    { region: "backup-header", lba: table.backupHeaderLba, bytes: backupHeader },
    { region: "primary-entries", lba: table.primaryEntriesLba, bytes: entries },
    { region: "protective-mbr", lba: 0n, bytes: mbr },
    { region: "primary-header", lba: 1n, bytes: primaryHeader },
  ]);
}

function checkTable(table: GptTable): Result<void, GptError> {
  const bad = (argument: string, why: string): Result<void, GptError> =>
    err({ code: "GPT_INVALID_ARGUMENT", message: `Table ${argument} ${why}.`, argument });
  if (!isGuid(table.diskGuid)) return bad("diskGuid", "is not a GUID");
  if (table.entrySize < 128 || table.entrySize % 128 !== 0)
    return bad("entrySize", "is not a multiple of 128");
  if (table.backupHeaderLba >= table.diskSectors || table.backupHeaderLba <= table.lastUsableLba) {
    return bad("backupHeaderLba", "is not between the usable range and the disk end");
  }
  const entrySectors = BigInt(Math.ceil((table.entryCount * table.entrySize) / table.sectorSize));
  if (
    table.primaryEntriesLba < 2n ||
    table.primaryEntriesLba + entrySectors > table.firstUsableLba
  ) {
    return bad("primaryEntriesLba", "does not fit between the primary header and the usable range");
  }
  if (
    table.backupEntriesLba <= table.lastUsableLba ||
    table.backupEntriesLba + entrySectors > table.backupHeaderLba
  ) {
    return bad("backupEntriesLba", "does not fit between the usable range and the backup header");
  }
  return validatePartitions(table);
}

/**
 * Put serialised sectors into an in-memory disk image (a copy is returned).
 *
 * @example
 * ```ts
 * const image = applyGptWrites(new Uint8Array(64 * 1024 * 1024), writes, 512);
 * ```
 */
export function applyGptWrites(
  image: Uint8Array,
  writes: readonly GptWrite[],
  sectorSize: number,
): Uint8Array {
  const out = image.slice();
  for (const w of writes) out.set(w.bytes, Number(w.lba) * sectorSize);
  return out;
}
