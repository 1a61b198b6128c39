/**
 * The errors of `@lifeboat/gpt`: data with a stable `code` and the numbers a
 * UI needs. Never thrown.
 *
 * @module
 */
import type { ErrorBase } from "@lifeboat/core";

/** Which on-disk copy of the table an error is about. */
export type GptCopy = "primary" | "backup";

/** A header sector does not start with `EFI PART`. */
export interface GptBadSignatureError extends ErrorBase<"GPT_BAD_SIGNATURE"> {
  readonly copy: GptCopy;
  readonly lba: bigint;
}

/** A header's CRC32 does not match its bytes. */
export interface GptBadHeaderCrcError extends ErrorBase<"GPT_BAD_HEADER_CRC"> {
  readonly copy: GptCopy;
  readonly lba: bigint;
  readonly stored: number;
  readonly computed: number;
}

/** An entry array's CRC32 does not match the one its header records. */
export interface GptBadEntriesCrcError extends ErrorBase<"GPT_BAD_ENTRIES_CRC"> {
  readonly copy: GptCopy;
  readonly lba: bigint;
  readonly stored: number;
  readonly computed: number;
}

/** A header field has an impossible value (size, LBA, entry size or count, usable range). */
export interface GptBadHeaderError extends ErrorBase<"GPT_BAD_HEADER"> {
  readonly copy: GptCopy;
  readonly field: string;
  readonly value: string;
}

/** Two partitions share sectors. */
export interface GptOverlapError extends ErrorBase<"GPT_OVERLAP"> {
  /** Slots of the two partitions (0 for the one being added). */
  readonly slots: readonly [number, number];
  readonly firstLba: bigint;
  readonly lastLba: bigint;
}

/** A partition lies (partly) outside the usable range, or ends before it starts. */
export interface GptOutOfRangeError extends ErrorBase<"GPT_OUT_OF_RANGE"> {
  readonly slot: number;
  readonly firstLba: bigint;
  readonly lastLba: bigint;
  readonly firstUsableLba: bigint;
  readonly lastUsableLba: bigint;
}

/** The primary and backup copies are each valid but disagree. */
export interface GptPrimaryBackupMismatchError extends ErrorBase<"GPT_PRIMARY_BACKUP_MISMATCH"> {
  readonly field: string;
}

/** The backup header is not at the last LBA: the disk grew (or shrank) since the table was written. */
export interface GptBackupNotAtEndError extends ErrorBase<"GPT_BACKUP_NOT_AT_END"> {
  readonly backupHeaderLba: bigint;
  readonly lastLba: bigint;
}

/** Neither copy of the table is usable. */
export interface GptNoValidTableError extends ErrorBase<"GPT_NO_VALID_TABLE"> {
  readonly primary: GptError;
  readonly backup: GptError;
}

/** Sectors the table needs are beyond the end of the disk or image. */
export interface GptTruncatedError extends ErrorBase<"GPT_TRUNCATED"> {
  readonly lba: bigint;
  readonly sectors: number;
  readonly sectorCount: bigint;
}

/** The sector size is not one the codec supports (512 or 4096: see `isSectorSize`). */
export interface GptBadSectorSizeError extends ErrorBase<"GPT_BAD_SECTOR_SIZE"> {
  readonly sectorSize: number;
}

/** No gap is large enough for the requested partition. */
export interface GptNoSpaceError extends ErrorBase<"GPT_NO_SPACE"> {
  readonly requestedSectors: bigint;
  /** The largest aligned run of free sectors there is. */
  readonly largestFreeSectors: bigint;
  /** `requestedSectors` in bytes. */
  readonly requestedBytes: bigint;
  /** `largestFreeSectors` in bytes. */
  readonly largestFreeBytes: bigint;
}

/** The table already has a Lifeboat recovery partition: a disk gets one. */
export interface GptRecoveryExistsError extends ErrorBase<"GPT_RECOVERY_EXISTS"> {
  /** Slot of the recovery partition already there. */
  readonly slot: number;
  readonly firstLba: bigint;
  readonly lastLba: bigint;
}

/** A start LBA is not on the alignment boundary. */
export interface GptMisalignedError extends ErrorBase<"GPT_MISALIGNED"> {
  readonly lba: bigint;
  readonly alignmentSectors: bigint;
}

/** Every slot of the entry array is used. */
export interface GptNoFreeSlotError extends ErrorBase<"GPT_NO_FREE_SLOT"> {
  readonly entryCount: number;
}

/** A slot named by the caller is in use (adding) or empty (editing). */
export interface GptSlotError extends ErrorBase<"GPT_SLOT_IN_USE" | "GPT_NO_SUCH_PARTITION"> {
  readonly slot: number;
}

/** A value given by the caller is malformed (GUID, name, size). */
export interface GptInvalidArgumentError extends ErrorBase<"GPT_INVALID_ARGUMENT"> {
  readonly argument: string;
}

/** The disk is too small for a GPT, or its size differs from the table's. */
export interface GptDiskSizeError
  extends ErrorBase<"GPT_DISK_TOO_SMALL" | "GPT_DISK_SIZE_MISMATCH"> {
  readonly diskSectors: bigint;
  readonly expectedSectors: bigint;
}

/** The kernel refused to re-read the table because partitions of the disk are in use. */
export interface GptDeviceBusyError extends ErrorBase<"GPT_DEVICE_BUSY"> {
  readonly device: string;
  readonly stderrTail: string;
}

/** The kernel cannot re-read partitions of this device (a loop device without partscan, a kernel without partition support). */
export interface GptRereadUnsupportedError extends ErrorBase<"GPT_REREAD_UNSUPPORTED"> {
  readonly device: string;
  readonly stderrTail: string;
}

/** After a re-read, the kernel's partitions still differ from the table on disk. */
export interface GptKernelStaleError extends ErrorBase<"GPT_KERNEL_STALE"> {
  readonly device: string;
}

/** Every error code of `@lifeboat/gpt`. */
export type GptError =
  | GptBadSignatureError
  | GptBadHeaderCrcError
  | GptBadEntriesCrcError
  | GptBadHeaderError
  | GptOverlapError
  | GptOutOfRangeError
  | GptPrimaryBackupMismatchError
  | GptBackupNotAtEndError
  | GptNoValidTableError
  | GptTruncatedError
  | GptBadSectorSizeError
  | GptNoSpaceError
  | GptRecoveryExistsError
  | GptMisalignedError
  | GptNoFreeSlotError
  | GptSlotError
  | GptInvalidArgumentError
  | GptDiskSizeError
  | GptDeviceBusyError
  | GptRereadUnsupportedError
  | GptKernelStaleError;

/** The stable codes of {@link GptError}. */
export type GptErrorCode = GptError["code"];
