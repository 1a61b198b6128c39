import { err, ok, type Result } from "neverthrow";
import type { GptCopy, GptError } from "../errors.js";
import { decodeGuid, encodeGuid } from "../guid.js";
import type { GptSource } from "../model.js";
import { isZero, view } from "./bytes.js";
import { crc32 } from "./crc32.js";

export const SIGNATURE = 0x5452415020494645n; // "EFI PART" little-endian
export const REVISION_1_0 = 0x00010000;
export const MIN_HEADER_SIZE = 92;
/** Refuse entry arrays larger than this: no real table comes close, and a corrupt count must not allocate gigabytes. */
export const MAX_ENTRY_ARRAY_BYTES = 4 * 1024 * 1024;

/** The fields of one header as stored. */
export interface HeaderFields {
  readonly revision: number;
  readonly headerSize: number;
  readonly headerReserved: number;
  readonly myLba: bigint;
  readonly alternateLba: bigint;
  readonly firstUsableLba: bigint;
  readonly lastUsableLba: bigint;
  readonly diskGuid: string;
  readonly entriesLba: bigint;
  readonly entryCount: number;
  readonly entrySize: number;
  readonly entriesCrc: number;
  /** Bytes 92..sector end when not all zero. */
  readonly tail: Uint8Array | undefined;
}

function bad(copy: GptCopy, field: string, value: bigint | number, why: string): GptError {
  return {
    code: "GPT_BAD_HEADER",
    message: `The ${copy} GPT header's ${field} (${value}) ${why}.`,
    copy,
    field,
    value: String(value),
  };
}

/** Decode and check one header: signature, size, CRC and the geometry it claims. */
export function decodeHeader(
  source: GptSource,
  lba: bigint,
  copy: GptCopy,
): Result<HeaderFields, GptError> {
  const sector = source.read(lba, 1);
  if (sector === undefined) {
    return err({
      code: "GPT_TRUNCATED",
      message: `The ${copy} GPT header at LBA ${lba} is beyond the end of the disk (${source.sectorCount} sectors).`,
      lba,
      sectors: 1,
      sectorCount: source.sectorCount,
    });
  }
  const v = view(sector);
  if (v.getBigUint64(0, true) !== SIGNATURE) {
    return err({
      code: "GPT_BAD_SIGNATURE",
      message: `No GPT signature ("EFI PART") in the ${copy} header at LBA ${lba}.`,
      copy,
      lba,
    });
  }
  const headerSize = v.getUint32(12, true);
  if (headerSize < MIN_HEADER_SIZE || headerSize > source.sectorSize) {
    return err(bad(copy, "headerSize", headerSize, `is outside 92..${source.sectorSize}`));
  }
  const stored = v.getUint32(16, true);
  const copyForCrc = sector.slice(0, headerSize);
  copyForCrc.fill(0, 16, 20);
  const computed = crc32(copyForCrc);
  if (stored !== computed) {
    return err({
      code: "GPT_BAD_HEADER_CRC",
      message: `The ${copy} GPT header at LBA ${lba} is damaged (CRC32 ${hex(stored)} stored, ${hex(computed)} computed).`,
      copy,
      lba,
      stored,
      computed,
    });
  }
  const fields: HeaderFields = {
    revision: v.getUint32(8, true),
    headerSize,
    headerReserved: v.getUint32(20, true),
    myLba: v.getBigUint64(24, true),
    alternateLba: v.getBigUint64(32, true),
    firstUsableLba: v.getBigUint64(40, true),
    lastUsableLba: v.getBigUint64(48, true),
    diskGuid: decodeGuid(sector, 56),
    entriesLba: v.getBigUint64(72, true),
    entryCount: v.getUint32(80, true),
    entrySize: v.getUint32(84, true),
    entriesCrc: v.getUint32(88, true),
    tail: isZero(sector, MIN_HEADER_SIZE) ? undefined : sector.slice(MIN_HEADER_SIZE),
  };
  return checkGeometry(fields, source, lba, copy).map(() => fields);
}

function checkGeometry(
  h: HeaderFields,
  source: GptSource,
  lba: bigint,
  copy: GptCopy,
): Result<void, GptError> {
  const last = source.sectorCount - 1n;
  if (h.myLba !== lba) return err(bad(copy, "myLba", h.myLba, `is not where it was read (${lba})`));
  if (h.entrySize < 128 || h.entrySize % 128 !== 0) {
    return err(bad(copy, "entrySize", h.entrySize, "is not a multiple of 128"));
  }
  if (h.entryCount < 1 || h.entryCount * h.entrySize > MAX_ENTRY_ARRAY_BYTES) {
    return err(bad(copy, "entryCount", h.entryCount, "is out of range"));
  }
  if (h.alternateLba > last) {
    // The header is intact but the disk (image) ends before the other copy: cut short.
    return err({
      code: "GPT_TRUNCATED",
      message: `The ${copy} GPT header puts the other copy at LBA ${h.alternateLba}, beyond the end of the disk (${source.sectorCount} sectors): the disk or image was cut short.`,
      lba: h.alternateLba,
      sectors: 1,
      sectorCount: source.sectorCount,
    });
  }
  if (h.alternateLba === h.myLba || h.alternateLba === 0n) {
    return err(
      bad(copy, "alternateLba", h.alternateLba, "does not point to another header on this disk"),
    );
  }
  if (h.firstUsableLba > h.lastUsableLba || h.firstUsableLba < 2n || h.lastUsableLba >= last) {
    return err(
      bad(
        copy,
        "firstUsableLba",
        h.firstUsableLba,
        `to ${h.lastUsableLba} is not a usable range of this disk`,
      ),
    );
  }
  if (h.myLba <= h.lastUsableLba && h.myLba >= h.firstUsableLba) {
    return err(bad(copy, "lastUsableLba", h.lastUsableLba, "covers the header itself"));
  }
  const otherSide =
    copy === "primary" ? h.alternateLba <= h.lastUsableLba : h.alternateLba >= h.firstUsableLba;
  if (otherSide)
    return err(
      bad(copy, "alternateLba", h.alternateLba, "is on the wrong side of the usable range"),
    );
  const sectors = BigInt(Math.ceil((h.entryCount * h.entrySize) / source.sectorSize));
  const entriesEnd = h.entriesLba + sectors - 1n;
  const placed =
    copy === "primary"
      ? h.entriesLba > h.myLba && entriesEnd < h.firstUsableLba
      : h.entriesLba > h.lastUsableLba && entriesEnd < h.myLba;
  // The other copy must be rebuildable from this one: room for its entry array on its side.
  const roomForOther =
    copy === "primary"
      ? h.alternateLba - sectors > h.lastUsableLba
      : 2n + sectors <= h.firstUsableLba;
  if (!placed || !roomForOther) {
    return err(
      bad(
        copy,
        "entriesLba",
        h.entriesLba,
        "does not put the entry array between its header and the usable range",
      ),
    );
  }
  return ok(undefined);
}

/** Serialise a header sector; the CRC is computed here. */
export function encodeHeader(h: HeaderFields, sectorSize: number): Uint8Array {
  const sector = new Uint8Array(sectorSize);
  if (h.tail !== undefined)
    sector.set(h.tail.subarray(0, sectorSize - MIN_HEADER_SIZE), MIN_HEADER_SIZE);
  const v = view(sector);
  v.setBigUint64(0, SIGNATURE, true);
  v.setUint32(8, h.revision, true);
  v.setUint32(12, h.headerSize, true);
  v.setUint32(20, h.headerReserved, true);
  v.setBigUint64(24, h.myLba, true);
  v.setBigUint64(32, h.alternateLba, true);
  v.setBigUint64(40, h.firstUsableLba, true);
  v.setBigUint64(48, h.lastUsableLba, true);
  encodeGuid(h.diskGuid, sector, 56);
  v.setBigUint64(72, h.entriesLba, true);
  v.setUint32(80, h.entryCount, true);
  v.setUint32(84, h.entrySize, true);
  v.setUint32(88, h.entriesCrc, true);
  v.setUint32(16, crc32(sector, 0, h.headerSize), true);
  return sector;
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
