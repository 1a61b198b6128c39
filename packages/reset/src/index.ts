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
  type ExecuteResetOptions,
  executeReset,
  resetJournalPaths,
  resumeReset,
} from "./execute.js";
export { createResetHandlers, RESET_STEP_KINDS } from "./handlers.js";
export { type ExplicitDisk, type InspectOptions, inspect } from "./inspect.js";
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
export {
  type FactoryManifest,
  factoryManifestSchema,
  parseFactoryManifest,
  readFactoryManifest,
} from "./manifest.js";
export { plan } from "./plan.js";
export { formatBytes } from "./planner/words.js";
export { describeBootPayload, type ProvisionOptions, provision } from "./provision.js";
export {
  type BuildRecoveryOptions,
  buildRecoveryImageSet,
  type OpenRecoveryOptions,
  openRecoveryImageSet,
  RECOVERY_FILES,
  recoveryAccess,
} from "./recovery.js";
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
export {
  RESET_BLS_ENTRY,
  RESET_UNIT,
  type ResetUnitOptions,
  renderResetUnit,
  type ScheduleResetOptions,
  scheduleReset,
} from "./schedule.js";
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
export type { RecoveryImageAccess, ResetEnvironment } from "./steps/context.js";
