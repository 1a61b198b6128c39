/**
 * `@lifeboat/btrfs`: a typed API over real Btrfs (btrfs-progs): subvolumes,
 * read-only snapshots, the default subvolume, atomic exchange of names,
 * send/receive as streams with progress and clean cancellation, seed devices.
 *
 * Effectful functions take a `CommandRunner` first and return neverthrow
 * `ResultAsync`s; subvolume paths are relative to a mounted top level
 * (subvolume 5, see {@link mountTopLevel}).
 *
 * @module @lifeboat/btrfs
 */

export {
  type AgentDevices,
  agentHelperPath,
  type BtrfsAgent,
  buildAgentHelper,
  type StartAgentOptions,
  type SubvolumeFacts,
  startBtrfsAgent,
} from "./agent.js";
export type {
  BtrfsError,
  BtrfsExchangeUnsupportedError,
  BtrfsIsDefaultError,
  BtrfsNotBtrfsError,
  BtrfsNotReadOnlyError,
  BtrfsNotTopLevelError,
  BtrfsPathExistsError,
  BtrfsReceiveAbortedError,
  BtrfsReceiveFailedError,
  BtrfsReuuidRefusedError,
  BtrfsReuuidTornError,
  BtrfsSeedError,
  BtrfsStreamInvalidError,
  BtrfsSubvolumeNotFoundError,
  BtrfsUntrustedStreamError,
  BtrfsVerifyFailedError,
} from "./errors.js";
export {
  type BuildHelperOptions,
  buildExchangeHelper,
  type ExchangeHelper,
  type ExchangeHelperLocation,
  type ExchangeMethod,
  type ExchangeOptions,
  exchangeHelperPath,
  exchangeSubvolumes,
  type FindExchangeOptions,
  findExchangeMethod,
} from "./exchange.js";
export { estimateSize, filesystemInfo, filesystemUsage } from "./filesystem.js";
export {
  type BtrfsBackend,
  type BtrfsFilesystem,
  type BtrfsHandle,
  type BtrfsHandleError,
  type OpenBtrfsOptions,
  openBtrfs,
  withBtrfs,
} from "./handle.js";
export {
  type MountOf,
  type MountTopLevelOptions,
  mountTopLevel,
  type PathSubvolume,
  subvolumeOfPath,
  type TopLevelMount,
} from "./mount.js";
export {
  type BtrfsDevice,
  type FilesystemInfo,
  type FilesystemUsage,
  parseFilesystemDu,
  parseFilesystemShow,
  parseFilesystemUsage,
  type SizeEstimate,
} from "./parse-filesystem.js";
export {
  type DefaultSubvolume,
  parseGetDefault,
  parseSubvolumeIds,
  parseSubvolumeList,
  parseSubvolumeShow,
  type Subvolume,
} from "./parse-subvolume.js";
export {
  getDefaultSubvolume,
  getReadOnly,
  type SetReadOnlyOptions,
  type SubvolumeRef,
  setDefaultSubvolume,
  setReadOnly,
} from "./properties.js";
export {
  type ReceiveEnd,
  receive,
  receiveFile,
  type SendEnd,
  type SendReceiveOptions,
  sendReceive,
} from "./receive.js";
export {
  buildReuuidHelper,
  type ReissuedUuid,
  type ReissuedUuids,
  type ReissueOptions,
  reissueUuids,
  reuuidHelperPath,
} from "./reuuid.js";
export { isSeed, makeSeed, removeSeed, type SproutOptions, sprout } from "./seed.js";
export {
  type SendHandle,
  type SendOptions,
  type SendSummary,
  type StreamSubvolume,
  sendStream,
  sendToFile,
  type TransferProgress,
} from "./send.js";
export {
  type CreateOptions,
  createSubvolume,
  type DeleteOptions,
  type DeleteResult,
  deleteSubvolume,
  listSubvolumes,
  renameSubvolume,
  type SnapshotOptions,
  showSubvolume,
  snapshot,
} from "./subvolumes.js";
export type {
  CallerVerifiedStream,
  ReceiveOptions,
  ReceiveSummary,
  StreamTrust,
  StreamVerification,
  UntrustedReceiveOptions,
} from "./transfer-types.js";
export { type VerifyReceivedOptions, verifyReceived } from "./verify.js";
