export type {
  BadRequestError,
  EncryptedLockedError,
  FaultInjectedError,
  ImageNotVerifiedError,
  InsufficientSpaceError,
  ManifestInvalidError,
  NoFactorySnapshotError,
  ResetError,
  ResetPlanError,
  TargetBusyError,
  UnexpectedStateError,
  UnsupportedLayoutError,
  VerifyFailedError,
} from "./errors.js";
export {
  bootStagingDir,
  FACTORY_BOOT,
  FACTORY_MANIFEST,
  FACTORY_ROOT,
  HOME_SUBVOLUME,
  isValidStamp,
  JOURNAL_FILE,
  LIFEBOAT_DIR,
  LOCK_FILE,
  newHomeName,
  newRootName,
  oldRootName,
  RESET_MARKER,
  ROOT_SUBVOLUME,
  stampOf,
} from "./layout.js";
export { plan } from "./plan.js";
export { formatBytes } from "./planner/words.js";
export { renderPlan } from "./render.js";
export type {
  CleanupRequest,
  FullRestoreRequest,
  RescueRequest,
  RescueTarget,
  ResetFromRecoveryRequest,
  ResetKeepHomeRequest,
  ResetRequest,
  ResetUserDataRequest,
} from "./requests.js";
export { RESET_REQUEST_KINDS } from "./requests.js";
export type {
  BootFile,
  BtrfsState,
  DiskState,
  FactoryState,
  LuksInfo,
  OtherOs,
  PartitionRole,
  PartitionState,
  RecoveryState,
  RootMount,
  SubvolumeState,
  SystemState,
} from "./state.js";
