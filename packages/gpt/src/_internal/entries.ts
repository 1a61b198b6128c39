import { err, ok, type Result } from "neverthrow";
import type { GptCopy, GptError } from "../errors.js";
import { decodeGuid, encodeGuid } from "../guid.js";
import type { GptPartition, GptSource } from "../model.js";
import { view } from "./bytes.js";
import { crc32 } from "./crc32.js";
import type { HeaderFields } from "./header.js";
import { hex } from "./header.js";
import { decodeName, encodeName, nameTailIsZero } from "./name.js";

export interface DecodedEntries {
  readonly partitions: GptPartition[];
  readonly rawSlots: { slot: number; bytes: Uint8Array }[];
}

/** Read one copy's entry array, check its CRC and decode the used entries. */
export function decodeEntries(
  source: GptSource,
  h: HeaderFields,
  copy: GptCopy,
): Result<DecodedEntries, GptError> {
  const length = h.entryCount * h.entrySize;
  const sectors = Math.ceil(length / source.sectorSize);
  const block = source.read(h.entriesLba, sectors);
  if (block === undefined) {
    return err({
      code: "GPT_TRUNCATED",
      message: `The ${copy} GPT entry array (LBA ${h.entriesLba}, ${sectors} sectors) is beyond the end of the disk.`,
      lba: h.entriesLba,
      sectors,
      sectorCount: source.sectorCount,
    });
  }
  const computed = crc32(block, 0, length);
  if (computed !== h.entriesCrc) {
    return err({
      code: "GPT_BAD_ENTRIES_CRC",
      message: `The ${copy} GPT entry array at LBA ${h.entriesLba} is damaged (CRC32 ${hex(h.entriesCrc)} recorded, ${hex(computed)} computed).`,
      copy,
      lba: h.entriesLba,
      stored: h.entriesCrc,
      computed,
    });
  }
  return ok(decodeEntryArray(block, h.entryCount, h.entrySize));
}

function decodeEntryArray(block: Uint8Array, count: number, size: number): DecodedEntries {
  const v = view(block);
  const partitions: GptPartition[] = [];
  const rawSlots: { slot: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    const slot = i + 1;
    if (zeroWords(v, at, at + 16)) {
      if (!zeroWords(v, at, at + size)) rawSlots.push({ slot, bytes: block.slice(at, at + size) });
      continue;
    }
    const name = decodeName(block, at + 56);
    partitions.push({
      slot,
      typeGuid: decodeGuid(block, at),
      uniqueGuid: decodeGuid(block, at + 16),
      firstLba: v.getBigUint64(at + 32, true),
      lastLba: v.getBigUint64(at + 40, true),
      attributes: v.getBigUint64(at + 48, true),
      name,
    });
    if (!nameTailIsZero(block, at + 56, name) || !zeroWords(v, at + 128, at + size)) {
      rawSlots.push({ slot, bytes: block.slice(at, at + size) });
    }
  }
  return { partitions, rawSlots };
}

/** Serialise the entry array (padded to whole sectors) and return it with its CRC. */
export function encodeEntries(
  partitions: readonly GptPartition[],
  rawSlots: readonly { slot: number; bytes: Uint8Array }[],
  count: number,
  size: number,
  sectorSize: number,
): { bytes: Uint8Array; crc: number } {
  const length = count * size;
  const bytes = new Uint8Array(Math.ceil(length / sectorSize) * sectorSize);
  for (const raw of rawSlots) {
    if (raw.slot >= 1 && raw.slot <= count)
      bytes.set(raw.bytes.subarray(0, size), (raw.slot - 1) * size);
  }
  const v = view(bytes);
  for (const p of partitions) {
    const at = (p.slot - 1) * size;
    encodeGuid(p.typeGuid, bytes, at);
    encodeGuid(p.uniqueGuid, bytes, at + 16);
    v.setBigUint64(at + 32, p.firstLba, true);
    v.setBigUint64(at + 40, p.lastLba, true);
    v.setBigUint64(at + 48, p.attributes, true);
    encodeName(p.name, bytes, at + 56);
  }
  return { bytes, crc: crc32(bytes, 0, length) };
}

/** All-zero check four bytes at a time (`start` and `end` are multiples of 4 here). */
function zeroWords(v: DataView, start: number, end: number): boolean {
  for (let i = start; i < end; i += 4) if (v.getUint32(i) !== 0) return false;
  return true;
}
