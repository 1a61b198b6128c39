/**
 * The typed model of a GUID Partition Table.
 *
 * @module
 */

/** Logical sector sizes the codec supports. */
export type SectorSize = 512 | 4096;

/** One used partition entry. LBAs are inclusive, in logical sectors. */
export interface GptPartition {
  /** 1-based slot in the entry array (the `N` of `sda<N>`). */
  readonly slot: number;
  /** Partition type GUID, lower case. */
  readonly typeGuid: string;
  /** Unique partition GUID (PARTUUID), lower case. */
  readonly uniqueGuid: string;
  readonly firstLba: bigint;
  /** Last sector, inclusive. */
  readonly lastLba: bigint;
  /** The 64 attribute bits (see `GPT_ATTRIBUTE`). */
  readonly attributes: bigint;
  /** Up to 36 UTF-16 code units; surrogate pairs count as two. */
  readonly name: string;
}

/**
 * Bytes of the on-disk table that the model does not interpret, kept so
 * that a parsed table serialises back byte for byte. Edits drop what they
 * make stale; a table made from scratch has none.
 */
export interface GptPreserved {
  /** The header's reserved 32-bit field at offset 20 (zero by the spec). */
  readonly headerReserved: number;
  /** Primary header bytes from offset 92 to the end of the sector, when not all zero. */
  readonly primaryHeaderTail?: Uint8Array;
  /** Backup header bytes from offset 92 to the end of the sector, when not all zero. */
  readonly backupHeaderTail?: Uint8Array;
  /** Whole raw entries for slots the model alone would not reproduce (junk in unused slots, bytes after a name's NUL, entry bytes past 128). */
  readonly rawSlots: readonly { readonly slot: number; readonly bytes: Uint8Array }[];
}

/** A whole GUID Partition Table: both copies' geometry, the entries and the protective MBR. */
export interface GptTable {
  readonly sectorSize: SectorSize;
  /** Number of logical sectors on the disk (last LBA + 1). */
  readonly diskSectors: bigint;
  readonly diskGuid: string;
  /** Header revision, 0x00010000 for every GPT seen in practice. */
  readonly revision: number;
  /** Header size in bytes (92 normally), covered by the header CRC. */
  readonly headerSize: number;
  readonly firstUsableLba: bigint;
  readonly lastUsableLba: bigint;
  /** Where the primary entry array starts (2 normally). */
  readonly primaryEntriesLba: bigint;
  /** Where the backup entry array starts (just before the backup header normally). */
  readonly backupEntriesLba: bigint;
  /** Where the backup header is (the disk's last LBA unless the disk grew). */
  readonly backupHeaderLba: bigint;
  /** Number of entries in the array (128 normally). */
  readonly entryCount: number;
  /** Size of one entry in bytes (128 normally; a multiple of 128). */
  readonly entrySize: number;
  /** Used entries, sorted by slot. */
  readonly partitions: readonly GptPartition[];
  /** LBA 0 exactly as read (or as sgdisk writes it): `sectorSize` bytes. */
  readonly protectiveMbr: Uint8Array;
  readonly preserved: GptPreserved;
}

/** What a `GptSource` reads: the disk as sectors. */
export interface GptSource {
  readonly sectorSize: SectorSize;
  /** Number of logical sectors on the disk. */
  readonly sectorCount: bigint;
  /** `count` sectors from `lba`, or `undefined` when they are not available. */
  read(lba: bigint, count: number): Uint8Array | undefined;
}

/** One piece of a serialised table: bytes to put at a sector. */
export interface GptWrite {
  readonly region:
    | "backup-entries"
    | "backup-header"
    | "primary-entries"
    | "protective-mbr"
    | "primary-header";
  readonly lba: bigint;
  readonly bytes: Uint8Array;
}

/**
 * Sectors taken by an entry array.
 *
 * @example
 * ```ts
 * entryArraySectors({ entryCount: 128, entrySize: 128, sectorSize: 4096 }); // 4n
 * ```
 */
export function entryArraySectors(
  table: Pick<GptTable, "entryCount" | "entrySize" | "sectorSize">,
): bigint {
  const bytes = BigInt(table.entryCount) * BigInt(table.entrySize);
  return (bytes + BigInt(table.sectorSize) - 1n) / BigInt(table.sectorSize);
}
