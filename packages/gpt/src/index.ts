/**
 * `@lifeboat/gpt`: a GUID Partition Table codec and layout editor.
 *
 * Pure functions parse and serialise tables over `Uint8Array` (byte-exact),
 * check them, recover a damaged copy from the other, and edit layouts;
 * effect functions read and write image files and block devices, ask the
 * kernel to re-read a table, and attach a partition as a loop device.
 *
 * @example
 * ```ts
 * import { createGptTable, addPartition, serializeGpt, MiB, ESP_TYPE } from "@lifeboat/gpt";
 * const table = createGptTable({ diskBytes: 1024n * MiB })
 *   .andThen((t) => addPartition(t, { size: 600n * MiB, typeGuid: ESP_TYPE }));
 * ```
 *
 * @module @lifeboat/gpt
 */
export type {
  GptBackupNotAtEndError,
  GptBadEntriesCrcError,
  GptBadHeaderCrcError,
  GptBadHeaderError,
  GptBadSectorSizeError,
  GptBadSignatureError,
  GptCopy,
  GptDeviceBusyError,
  GptDiskSizeError,
  GptError,
  GptErrorCode,
  GptInvalidArgumentError,
  GptKernelStaleError,
  GptMisalignedError,
  GptNoFreeSlotError,
  GptNoSpaceError,
  GptNoValidTableError,
  GptOutOfRangeError,
  GptOverlapError,
  GptPrimaryBackupMismatchError,
  GptRecoveryExistsError,
  GptRereadUnsupportedError,
  GptSlotError,
  GptTruncatedError,
} from "./errors.js";
export { decodeGuid, encodeGuid, isGuid, randomGuid } from "./guid.js";
export {
  detectSectorSize,
  type GptIoError,
  openGptSource,
  type ReadGptOptions,
  readGpt,
  readGptRecovering,
  type WriteGptOptions,
  type WriteGptProgress,
  writeGpt,
} from "./io.js";
export {
  type KernelPartition,
  kernelPartitions,
  type RereadError,
  type RereadOptions,
  rereadPartitions,
} from "./kernel.js";
export {
  addPartition,
  type CreateTableOptions,
  createGptTable,
  deletePartition,
  MiB,
  type NewPartition,
  type PartitionPatch,
  type Placement,
  relocateBackup,
  resizePartition,
  updatePartition,
} from "./layout.js";
export { type AttachedPartition, type AttachOptions, attachArgs, attachPartition } from "./loop.js";
export type { MbrKind } from "./mbr.js";
export type {
  GptPartition,
  GptPreserved,
  GptSource,
  GptTable,
  GptWrite,
  SectorSize,
} from "./model.js";
export {
  type CarveRequest,
  type FreshLayoutRequest,
  planRecoveryPartition,
  RECOVERY_ATTRIBUTES,
  type RecoveryLayout,
} from "./oem.js";
export {
  type GptInput,
  type GptInspection,
  type GptRecovery,
  inspectGpt,
  type ParseOptions,
  parseGpt,
  recoverGpt,
} from "./parse.js";
export { applyGptWrites, serializeGpt } from "./serialize.js";
export { isSectorSize, sourceFromRanges } from "./source.js";
export {
  attributeMask,
  ESP_TYPE,
  GPT_ATTRIBUTE,
  type GptAttributeName,
  hasAttribute,
  isRecoveryType,
  LINUX_DATA_TYPE,
  lookupPartitionType,
  type PartitionType,
  partitionTypes,
  WINDOWS_RECOVERY_TYPE,
} from "./types.js";
export { validatePartitions } from "./validate.js";
